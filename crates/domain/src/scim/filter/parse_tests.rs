//! Parsing filters: the grammar, normalisation, precedence and refusals.

use super::*;

fn parse(input: &str) -> Filter {
    Filter::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"))
}

fn error(input: &str) -> FilterError {
    match Filter::parse(input) {
        Ok(f) => panic!("{input:?} parsed as {f:?}"),
        Err(e) => e,
    }
}

/// `name` or `name.sub`, no schema.
fn attr(path: &str) -> AttrPath {
    match path.split_once('.') {
        Some((name, sub)) => AttrPath::new(None, name, Some(sub)),
        None => AttrPath::new(None, path, None),
    }
}

fn cmp(path: &str, op: CompareOp, value: CompValue) -> Filter {
    Filter::Compare { path: attr(path), op, value }
}

fn s(text: &str) -> CompValue {
    CompValue::String(text.to_owned())
}

fn n(number: i64) -> CompValue {
    CompValue::Number(number.into())
}

fn pr(path: &str) -> Filter {
    Filter::Present(attr(path))
}

/// The filters of RFC 7644 §3.4.2.2, figure 2.
pub(super) const RFC_EXAMPLES: &[&str] = &[
    r#"userName eq "bjensen""#,
    r#"name.familyName co "O'Malley""#,
    r#"userName sw "J""#,
    r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
    r#"title pr"#,
    r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
    r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
    r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
    r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
    r#"title pr and userType eq "Employee""#,
    r#"title pr or userType eq "Intern""#,
    r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
    r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
    r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
    r#"userType eq "Employee" and (emails.type eq "work")"#,
    r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
    r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
];

/// What identity providers send: Okta, Microsoft Entra ID, and group membership checks.
pub(super) const IDP_FILTERS: &[&str] = &[
    r#"userName eq "a@b.com""#,
    r#"externalId eq "x""#,
    r#"userName eq "x""#,
    r#"displayName eq "Engineering""#,
    r#"emails[type eq "work" and value co "@example.com"]"#,
    r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
    r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#,
    r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
    r#"id eq "2819c223-7f76-453a-919d-413861904646" and members[value eq "902c246b-6245-4190-8e05-00816be7344a"]"#,
];

#[test]
fn every_comparison_operator_parses() {
    for op in CompareOp::ALL {
        let input = format!(r#"title {} "x""#, op.keyword());
        assert_eq!(parse(&input), cmp("title", op, s("x")), "{input}");
    }
    assert_eq!(parse("title pr"), pr("title"));
    assert_eq!(CompareOp::from_keyword("pr"), None);
}

#[test]
fn keywords_operators_and_attribute_names_are_case_insensitive() {
    let canonical = parse(r#"userName eq "John" and not (active eq true or title pr)"#);
    for variant in [
        r#"USERNAME EQ "John" AND NOT (ACTIVE EQ TRUE OR TITLE PR)"#,
        r#"username Eq "John" And Not (Active eq True Or title Pr)"#,
    ] {
        assert_eq!(parse(variant), canonical, "{variant}");
    }
    // The literal keeps its case: case-insensitive comparison is the evaluator's job.
    assert_eq!(parse(r#"userName eq "John""#), cmp("username", CompareOp::Eq, s("John")));
    assert_eq!(canonical.to_string(), r#"username eq "John" and not (active eq true or title pr)"#);
}

#[test]
fn a_schema_urn_prefix_is_kept_and_normalised() {
    let f = parse(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915""#);
    let Filter::Compare { path, .. } = &f else { panic!("{f:?}") };
    assert_eq!(path.schema(), Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"));
    assert_eq!((path.name(), path.sub_attr()), ("manager", Some("value")));
    assert_eq!(parse(r#"URN:IETF:params:scim:schemas:extension:enterprise:2.0:USER:Manager.Value eq "26118915""#), f);
    // A bare `urn` is an attribute name like any other.
    assert_eq!(parse("urn pr"), pr("urn"));
}

#[test]
fn not_binds_tighter_than_and_which_binds_tighter_than_or() {
    assert_eq!(
        parse("a eq 1 or b eq 2 and c eq 3"),
        Filter::Or(vec![
            cmp("a", CompareOp::Eq, n(1)),
            Filter::And(vec![cmp("b", CompareOp::Eq, n(2)), cmp("c", CompareOp::Eq, n(3))]),
        ])
    );
    assert_eq!(
        parse("(a eq 1 or b eq 2) and c eq 3"),
        Filter::And(vec![
            Filter::Or(vec![cmp("a", CompareOp::Eq, n(1)), cmp("b", CompareOp::Eq, n(2))]),
            cmp("c", CompareOp::Eq, n(3)),
        ])
    );
    assert_eq!(
        parse("a pr and b pr or c pr and d pr"),
        Filter::Or(vec![Filter::And(vec![pr("a"), pr("b")]), Filter::And(vec![pr("c"), pr("d")])])
    );
    assert_eq!(parse("not (a pr) and b pr"), Filter::And(vec![Filter::Not(Box::new(pr("a"))), pr("b")]));
    assert_eq!(parse("((a pr))"), pr("a"));
    // Same-operator chains are flat, however they are grouped.
    assert_eq!(parse("a pr and (b pr and c pr)"), parse("(a pr and b pr) and c pr"));
    assert_eq!(parse("a pr or (b pr or c pr)"), Filter::Or(vec![pr("a"), pr("b"), pr("c")]));
}

#[test]
fn not_takes_a_parenthesized_filter() {
    assert_eq!(parse("not (title pr)"), Filter::Not(Box::new(pr("title"))));
    assert_eq!(parse("not(title pr)"), parse("not (title pr)"));
    assert_eq!(parse("not (not (title pr))").to_string(), "not (not (title pr))");

    let e = error("not title pr");
    assert_eq!(e.column(), 5, "{e}");
    assert!(e.message().contains("`not` must be followed by a filter in parentheses"), "{e}");
    // An attribute may still be called `not`.
    assert_eq!(parse("not pr"), pr("not"));
}

#[test]
fn a_value_path_filters_the_values_of_a_multi_valued_attribute() {
    assert_eq!(
        parse(r#"emails[type eq "work" and value co "@example.com"]"#),
        Filter::ValuePath {
            path: attr("emails"),
            filter: Box::new(Filter::And(vec![
                cmp("type", CompareOp::Eq, s("work")),
                cmp("value", CompareOp::Co, s("@example.com")),
            ])),
        }
    );
    let grouped = parse(r#"emails[not (type eq "home") and (primary eq true or value ew ".org")]"#);
    assert_eq!(grouped.to_string(), r#"emails[not (type eq "home") and (primary eq true or value ew ".org")]"#);

    assert_eq!(parse(r#"members[$Ref ew "/Users/2819c223"]"#).to_string(), r#"members[$ref ew "/Users/2819c223"]"#);

    let f = parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[ type eq "work" ]"#);
    let Filter::ValuePath { path, .. } = &f else { panic!("{f:?}") };
    assert_eq!(path.schema(), Some("urn:ietf:params:scim:schemas:core:2.0:user"));
}

#[test]
fn literals_are_json() {
    assert_eq!(parse(r#"title eq "a\"b\\c\/\u00e9\n\ud83d\ude00""#), cmp("title", CompareOp::Eq, s("a\"b\\c/é\n😀")));
    assert_eq!(parse(r#"title eq "é ü 東京""#), cmp("title", CompareOp::Eq, s("é ü 東京")));
    assert_eq!(parse("n eq -1.5e3").to_string(), "n eq -1500.0");
    assert_eq!(parse("n eq 0"), cmp("n", CompareOp::Eq, n(0)));
    assert_eq!(parse("n gt 18446744073709551615").to_string(), "n gt 18446744073709551615");
    assert_eq!(parse("b eq false"), cmp("b", CompareOp::Eq, CompValue::Bool(false)));
    assert_eq!(parse("b ne NULL"), cmp("b", CompareOp::Ne, CompValue::Null));
}

#[test]
fn the_rfc_examples_and_identity_provider_filters_parse_and_print_back() {
    for input in RFC_EXAMPLES.iter().chain(IDP_FILTERS) {
        let f = parse(input);
        let printed = f.to_string();
        assert_eq!(Filter::parse(&printed), Ok(f), "{input} printed as {printed}");
    }
    assert_eq!(parse(IDP_FILTERS[0]), cmp("username", CompareOp::Eq, s("a@b.com")));
    assert_eq!(parse(IDP_FILTERS[1]), cmp("externalid", CompareOp::Eq, s("x")));
    assert_eq!(
        parse(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#),
        cmp("meta.lastmodified", CompareOp::Gt, s("2011-05-13T04:42:34Z"))
    );
}

#[test]
fn spaces_around_the_filter_and_inside_groups_are_allowed() {
    assert_eq!(parse("  ( title pr )  "), pr("title"));
    assert_eq!(parse("title  pr   and\tuserType  eq  1"), parse("title pr and userType eq 1"));
}

/// (input, column, a part of the message)
const MALFORMED: &[(&str, usize, &str)] = &[
    (r#"userName eq "abc"#, 17, "unterminated string"),
    (r#"userName eq "a\qb""#, 16, "invalid escape sequence"),
    ("userName eq \"a\u{1}b\"", 15, "control character"),
    (r#"userName eq "\ud800""#, 21, "unpaired surrogate"),
    (r#"userName xx "x""#, 10, "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr), found `xx`"),
    (r#"userName equals "x""#, 10, "found `equals`"),
    (r#"title pr "x""#, 10, "`pr` takes no value"),
    ("title pr and", 13, "found end of input"),
    ("title pr and ", 14, "expected `(`, `not` or an attribute name"),
    ("title pr or", 12, "expected"),
    ("and title pr", 5, "expected"),
    (r#"userName eq "x" garbage"#, 17, "expected `and`, `or` or end of input, found `garbage`"),
    (r#"userName eq "x" )"#, 17, "found `)`"),
    ("(title pr", 10, "expected `)`"),
    ("((title pr)", 12, "expected `)`"),
    ("title pr)", 9, "expected end of input, found `)`"),
    ("()", 2, "expected"),
    ("userName eq", 12, "expected a space"),
    ("userName eq ", 13, "expected a value"),
    ("userName eq bjensen", 13, "expected a value (a JSON string, a number, true, false or null), found `bjensen`"),
    ("userName eq 'bjensen'", 13, "expected a value"),
    ("age eq 1e999", 8, "number out of range"),
    ("active gt true", 11, "`gt`, `ge`, `lt` and `le` compare strings and numbers"),
    ("title le null", 10, "not true, false or null"),
    (r#"emails[type eq "work""#, 22, "expected `]`"),
    (r#"emails[type eq "work"]]"#, 23, "found `]`"),
    (r#"emails[type[value eq "x"] pr]"#, 26, "cannot contain another"),
    (r#"emails[name.givenName eq "x"]"#, 22, "name a sub-attribute only"),
    (r#"emails[type eq "work"].value eq "x""#, 23, "found `.value`"),
    ("meta. pr", 6, "expected an attribute name"),
    ("9lives pr", 1, "expected `(`, `not` or an attribute name, found `9lives`"),
    ("title\npr", 6, "expected"),
    ("", 1, "the filter is empty"),
    ("   ", 1, "the filter is empty"),
];

#[test]
fn malformed_filters_are_refused_with_a_column_and_a_reason() {
    for (input, column, message) in MALFORMED {
        let e = error(input);
        assert_eq!(e.scim_type(), "invalidFilter");
        assert!(e.message().contains(message), "{input:?}: {e}");
        assert_eq!(e.column(), *column, "{input:?}: {e}");
        assert!(e.to_string().starts_with(&format!("invalid filter at column {column}: ")), "{e}");
    }
}

#[test]
fn columns_count_characters_not_bytes() {
    assert_eq!(error(r#"displayName eq "Zoë" nope"#).column(), 22);
}

fn nested(depth: usize) -> String {
    format!("{}title pr{}", "(".repeat(depth), ")".repeat(depth))
}

#[test]
fn nesting_is_capped_at_32_levels() {
    assert!(MAX_DEPTH == 32 && TOO_DEEP_TEXT.contains("32"));
    assert_eq!(parse(&nested(MAX_DEPTH)), pr("title"));
    let e = error(&nested(MAX_DEPTH + 1));
    assert_eq!((e.column(), e.message()), (MAX_DEPTH + 2, TOO_DEEP_TEXT));

    let nots = format!("{}title pr{}", "not (".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
    assert_eq!(error(&nots).message(), TOO_DEEP_TEXT);

    // Brackets count too: 31 groups around one value filter is 32 levels.
    let inside = format!("emails[{}type pr{}]", "(".repeat(MAX_DEPTH - 1), ")".repeat(MAX_DEPTH - 1));
    parse(&inside);
    let inside = format!("emails[{}type pr{}]", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert_eq!(error(&inside).message(), TOO_DEEP_TEXT);
}

const TOO_DEEP_TEXT: &str = "parentheses and brackets nest more than 32 levels deep";

#[test]
fn hostile_input_is_refused_without_exhausting_the_stack() {
    // Within the length cap but far past the depth cap, and unbalanced.
    assert_eq!(error(&"(".repeat(MAX_LEN)).message(), TOO_DEEP_TEXT);
    assert_eq!(error(&"not (".repeat(MAX_LEN / 5)).message(), TOO_DEEP_TEXT);
    assert_eq!(error(&format!("emails[{}", "(".repeat(MAX_LEN - 8))).message(), TOO_DEEP_TEXT);

    // Past the length cap: refused before parsing.
    let e = error(&nested(100_000));
    assert_eq!((e.column(), e.message()), (MAX_LEN + 1, "the filter is longer than 4096 bytes"));
    let e = error(&"é".repeat(MAX_LEN));
    assert_eq!(e.column(), MAX_LEN / 2 + 1);

    // A long but flat filter is fine, and so is the deepest legal one on a small stack.
    let flat = vec!["title pr"; 300].join(" and ");
    assert!(matches!(parse(&flat), Filter::And(parts) if parts.len() == 300));
    let deepest = format!(
        "{}emails[{}type pr{}]{}",
        "not (".repeat(MAX_DEPTH / 2),
        "(".repeat(MAX_DEPTH / 2 - 1),
        ")".repeat(MAX_DEPTH / 2 - 1),
        ")".repeat(MAX_DEPTH / 2)
    );
    let parsed = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(move || Filter::parse(&deepest).is_ok())
        .expect("spawn")
        .join()
        .expect("no stack overflow");
    assert!(parsed);
}
