//! The grammar of SCIM filters (RFC 7644 §3.4.2.2, figure 1) and PATCH paths (§3.5.2),
//! with attribute names as in RFC 7643 §2.1.
//!
//! Error reporting: peg reports the furthest position reached and the labels expected
//! there. Labels starting with `!` are whole messages for a known mistake (`pr` with a
//! value, an unterminated string, nesting too deep) and win over the others.
//!
//! Every recursion passes through `nest`, which refuses a level past [`MAX_DEPTH`] before
//! descending, and `and`/`or` chains are loops, so the stack used is bounded whatever the
//! input. No alternative re-parses a nested group, so parsing stays linear.

use super::{AttrPath, CompValue, CompareOp, Filter, MAX_DEPTH, MAX_LEN};

/// A syntax error: where (1-based, in characters) and what.
pub(in crate::scim) struct SyntaxError {
    pub(in crate::scim) column: usize,
    pub(in crate::scim) message: String,
}

/// A PATCH path's parts: the attribute (with its sub-attribute when there is no value
/// filter), the value filter, and the sub-attribute after the value filter.
pub(in crate::scim) struct PathParts {
    pub(in crate::scim) attr: AttrPath,
    pub(in crate::scim) value_filter: Option<Filter>,
    pub(in crate::scim) sub_attr: Option<String>,
}

pub(in crate::scim) fn parse_filter(input: &str) -> Result<Filter, SyntaxError> {
    precheck(input, "filter")?;
    scim::filter(input).map_err(|e| describe(input, &e))
}

pub(in crate::scim) fn parse_path(input: &str) -> Result<PathParts, SyntaxError> {
    precheck(input, "path")?;
    scim::patch_path(input).map_err(|e| describe(input, &e))
}

fn precheck(input: &str, what: &str) -> Result<(), SyntaxError> {
    if input.len() > MAX_LEN {
        let column = input.char_indices().take_while(|(i, _)| *i < MAX_LEN).count() + 1;
        return Err(SyntaxError { column, message: format!("the {what} is longer than {MAX_LEN} bytes") });
    }
    if input.trim_matches([' ', '\t']).is_empty() {
        return Err(SyntaxError { column: 1, message: format!("the {what} is empty") });
    }
    Ok(())
}

const TOO_DEEP: &str = "!parentheses and brackets nest more than 32 levels deep";
const NESTED_VALUE_FILTER: &str = "!a value filter `[…]` cannot contain another";
const NOT_A_SUB_ATTR: &str = "!inside `[…]` name a sub-attribute only, as in `emails[type eq \"work\"]`";
const NOT_NEEDS_PARENS: &str = "!`not` must be followed by a filter in parentheses: `not (…)`";
const PR_TAKES_NO_VALUE: &str = "!`pr` takes no value";
const ORDERING_NEEDS_ORDERED: &str = "!`gt`, `ge`, `lt` and `le` compare strings and numbers, not true, false or null";
const OPERATOR: &str = "an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)";
const VALUE: &str = "a value (a JSON string, a number, true, false or null)";

fn prepend(first: Filter, rest: Vec<Filter>) -> Vec<Filter> {
    let mut all = Vec::with_capacity(rest.len() + 1);
    all.push(first);
    all.extend(rest);
    all
}

fn keyword_value(word: &str) -> Option<CompValue> {
    match word.to_ascii_lowercase().as_str() {
        "true" => Some(CompValue::Bool(true)),
        "false" => Some(CompValue::Bool(false)),
        "null" => Some(CompValue::Null),
        _ => None,
    }
}

/// Characters of a URN segment (RFC 8141 `pchar` without `:`, and without the `(` `)`
/// that group filters).
fn is_urn_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'*+,;=@/%".contains(c)
}

fn attr_path(schema: Option<&str>, name: &str) -> AttrPath {
    AttrPath::new(schema, name, None)
}

peg::parser! {
    grammar scim() for str {
        pub rule filter() -> Filter = _ f:or_expr(0, false) _ { f }

        pub rule patch_path() -> PathParts
            = _ attr:attr_ref() f:value_filter(0) sub:(dot() s:attr_name() { s })? _ {
                PathParts { attr, value_filter: Some(f), sub_attr: sub.map(str::to_ascii_lowercase) }
            }
            / _ attr:attr_path() _ { PathParts { attr, value_filter: None, sub_attr: None } }

        // `inner`: inside `attr[…]`, where paths name sub-attributes of `attr`.
        rule or_expr(depth: usize, inner: bool) -> Filter
            = first:and_expr(depth, inner) rest:(sp() kw("or") _ f:and_expr(depth, inner) { f })* {
                Filter::any_of(prepend(first, rest))
            }

        rule and_expr(depth: usize, inner: bool) -> Filter
            = first:unary(depth, inner) rest:(sp() kw("and") _ f:unary(depth, inner) { f })* {
                Filter::all_of(prepend(first, rest))
            }

        rule unary(depth: usize, inner: bool) -> Filter
            = kw("not") _ f:(group(depth, inner) / expected!(NOT_NEEDS_PARENS)) { Filter::Not(Box::new(f)) }
            / group(depth, inner)
            / attr_expr(depth, inner)

        rule group(depth: usize, inner: bool) -> Filter
            = lparen() nest(depth) _ f:or_expr(depth + 1, inner) _ rparen() { f }

        rule value_filter(depth: usize) -> Filter
            = lbracket() nest(depth) _ f:or_expr(depth + 1, true) _ rbracket() { f }

        rule nest(depth: usize) = {? if depth < MAX_DEPTH { Ok(()) } else { Err(TOO_DEEP) } }

        rule attr_expr(depth: usize, inner: bool) -> Filter
            = path:attr_ref() f:value_filter(depth) {?
                if inner { Err(NESTED_VALUE_FILTER) } else { Ok(Filter::ValuePath { path, filter: Box::new(f) }) }
            }
            / path:operand(inner) sp_required() quiet!{kw("pr")} no_value() { Filter::Present(path) }
            / path:operand(inner) sp_required() op:compare_op() sp_required() value:value_for(op) {
                Filter::Compare { path, op, value }
            }

        rule operand(inner: bool) -> AttrPath
            = p:attr_path() {? if inner && (p.schema.is_some() || p.sub_attr.is_some()) { Err(NOT_A_SUB_ATTR) } else { Ok(p) } }

        rule no_value() = !(sp() comp_value()) / sp() {? Err(PR_TAKES_NO_VALUE) }

        rule compare_op() -> CompareOp
            = quiet!{ w:word() {? CompareOp::from_keyword(w).ok_or("") } } / expected!(OPERATOR)

        rule value_for(op: CompareOp) -> CompValue = ordered_ok(op) v:comp_value() { v }

        rule ordered_ok(op: CompareOp)
            = !(w:word() {? keyword_value(w).map(|_| ()).ok_or("") })
            / {? if op.is_ordering() { Err(ORDERING_NEEDS_ORDERED) } else { Ok(()) } }

        rule comp_value() -> CompValue
            = s:string() { CompValue::String(s) }
            / number_in_range() n:$(quiet!{number()}) {? n.parse().map(CompValue::Number).map_err(|_| "") }
            / quiet!{ w:word() {? keyword_value(w).ok_or("") } }
            / expected!(VALUE)

        // Checked ahead so that the error points at the number's start.
        rule number_in_range()
            = &(n:$(number()) {? n.parse::<serde_json::Number>().map(|_| ()).map_err(|_| "") })
            / &number() {? Err("!number out of range") }

        rule number()
            = "-"? ("0" / ['1'..='9'] ['0'..='9']*) ("." ['0'..='9']+)? (['e' | 'E'] ['+' | '-']? ['0'..='9']+)?

        // A JSON string (RFC 8259 §7): validated here, unescaped by serde_json.
        rule string() -> String
            = s:$(quiet!{ "\"" string_char()* "\"" }) {?
                serde_json::from_str(s).map_err(|_| "!invalid `\\u` escape in string (an unpaired surrogate)")
            }
            / quiet!{ "\"" string_char()* } s:string_fault() { s }

        rule string_char()
            = [c if c != '"' && c != '\\' && c >= ' ']
            / "\\" (['"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't'] / "u" hex() hex() hex() hex())

        rule hex() = ['0'..='9' | 'a'..='f' | 'A'..='F']

        rule string_fault() -> String
            = ![_] {? Err("!unterminated string") }
            / quiet!{"\\"} {? Err("!invalid escape sequence in string") }
            / &[c if c < ' '] {? Err("!control character in string (escape it)") }

        // attrPath = [URI ":"] ATTRNAME *1subAttr
        rule attr_path() -> AttrPath
            = p:attr_ref() sub:(dot() s:attr_name() { s })? {
                match sub { Some(s) => p.with_sub_attr(s), None => p }
            }

        rule attr_ref() -> AttrPath
            = quiet!{ u:urn()? n:name() { attr_path(u, n) } } / expected!("an attribute name")

        // A schema URN up to the `:` before the attribute name; returned without that `:`.
        rule urn() -> &'input str
            = s:$(['u' | 'U'] ['r' | 'R'] ['n' | 'N'] ":" ([c if is_urn_char(c)]+ ":")+) { s.strip_suffix(':').unwrap_or(s) }

        rule attr_name() -> &'input str = quiet!{ name() } / expected!("an attribute name")

        // ATTRNAME = ALPHA *(nameChar), and `$ref` (RFC 7643 §2.1, §2.3.7).
        rule name() -> &'input str
            = $(['a'..='z' | 'A'..='Z'] ['a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_']*)
            / $("$" ['r' | 'R'] ['e' | 'E'] ['f' | 'F'])

        rule word() -> &'input str = $(['a'..='z' | 'A'..='Z']+)

        rule kw(k: &'static str)
            = quiet!{ w:word() {? if w.eq_ignore_ascii_case(k) { Ok(()) } else { Err("") } } } / expected!(k)

        rule lparen() = quiet!{"("} / expected!("(")
        rule rparen() = quiet!{")"} / expected!(")")
        rule lbracket() = quiet!{"["} / expected!("[")
        rule rbracket() = quiet!{"]"} / expected!("]")
        rule dot() = quiet!{"."} / expected!(".")

        rule sp() = quiet!{[' ' | '\t']+}
        rule sp_required() = sp() / expected!("a space")
        rule _ = quiet!{[' ' | '\t']*}
    }
}

/// A person's message for peg's furthest failure.
fn describe(input: &str, err: &peg::error::ParseError<peg::str::LineCol>) -> SyntaxError {
    let offset = err.location.offset;
    let column = input.get(..offset).map_or(offset, |s| s.chars().count()) + 1;
    let tokens: Vec<&str> = err.expected.tokens().collect();
    if let Some(message) = tokens.iter().find_map(|t| t.strip_prefix('!')) {
        return SyntaxError { column, message: message.to_owned() };
    }
    // Symbols and keywords first, then descriptions, then the end of input.
    let mut wanted: Vec<(u8, String)> = tokens
        .iter()
        .filter(|t| !t.is_empty())
        .map(|t| match *t {
            "EOF" => (2, "end of input".to_owned()),
            t if t.contains(' ') => (1, t.to_owned()),
            t => (0, format!("`{t}`")),
        })
        .collect();
    wanted.sort();
    let wanted: Vec<String> = wanted.into_iter().map(|(_, w)| w).collect();
    let found = found(input.get(offset..).unwrap_or(""));
    let message = match wanted.split_last() {
        None => format!("unexpected {found}"),
        Some((last, [])) => format!("expected {last}, found {found}"),
        Some((last, rest)) => format!("expected {} or {last}, found {found}", rest.join(", ")),
    };
    SyntaxError { column, message }
}

/// What stands at the failure: a word, a punctuation mark, a space or the end.
fn found(rest: &str) -> String {
    let Some(first) = rest.chars().next() else {
        return "end of input".to_owned();
    };
    let stop = |c: char| c.is_whitespace() || "()[]\"".contains(c);
    if first == ' ' || first == '\t' {
        return "a space".to_owned();
    }
    if first.is_whitespace() || first.is_control() {
        return format!("{first:?}");
    }
    if stop(first) {
        return format!("`{first}`");
    }
    let word: String = rest.chars().take_while(|c| !stop(*c)).take(24).collect();
    format!("`{word}`")
}
