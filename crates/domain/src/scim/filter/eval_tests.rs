//! Evaluating filters against SCIM resources.

use serde_json::{json, Value};

use super::parse_tests::{IDP_FILTERS, RFC_EXAMPLES};
use super::*;

/// Barbara Jensen, after RFC 7643 §8.3, with the enterprise extension.
fn bjensen() -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "701984",
        "userName": "bjensen@example.com",
        "name": { "formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara" },
        "displayName": "Babs Jensen",
        "nickName": "",
        "title": "Tour Guide",
        "userType": "Employee",
        "active": true,
        "age": 30,
        "emails": [
            { "value": "bjensen@example.com", "type": "work", "primary": true },
            { "value": "babs@jensen.org", "type": "home" }
        ],
        "ims": [{ "value": "someaimhandle", "type": "aim" }],
        "phoneNumbers": [],
        "addresses": [{ "streetAddress": null, "locality": null }],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "manager": { "value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith" }
        },
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"3694e05e9dff591\""
        }
    })
}

fn group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
        "displayName": "Tour Guides",
        "members": [
            { "value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen" },
            { "value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge" }
        ]
    })
}

fn on(resource: &Value, filter: &str) -> bool {
    Filter::parse(filter).unwrap_or_else(|e| panic!("{filter:?}: {e}")).matches(resource, &CoreSchema)
}

#[track_caller]
fn assert_all(resource: &Value, expected: bool, filters: &[&str]) {
    for filter in filters {
        assert_eq!(on(resource, filter), expected, "{filter}");
    }
}

#[test]
fn attribute_names_match_in_any_case() {
    assert_all(
        &bjensen(),
        true,
        &[r#"USERNAME eq "bjensen@example.com""#, r#"Name.FamilyName eq "Jensen""#, r#"EMAILS[TYPE eq "work"]"#],
    );
}

#[test]
fn eq_ne_co_sw_ew_ignore_case_unless_the_attribute_is_case_exact() {
    let user = bjensen();
    assert_all(
        &user,
        true,
        &[
            r#"userName eq "BJensen@Example.com""#,
            r#"userName ne "someone@example.com""#,
            r#"userName co "JENSEN@""#,
            r#"userName sw "BJ""#,
            r#"userName ew "EXAMPLE.COM""#,
            r#"externalId eq "701984""#,
            r#"id eq "2819c223-7f76-453a-919d-413861904646""#,
        ],
    );
    assert_all(
        &user,
        false,
        &[
            r#"userName eq "bjensen""#,
            r#"userName ne "BJENSEN@EXAMPLE.COM""#,
            r#"userName co "smith""#,
            r#"userName sw "jensen""#,
            r#"userName ew "example""#,
            // `id` is caseExact.
            r#"id eq "2819C223-7F76-453A-919D-413861904646""#,
        ],
    );
}

#[test]
fn a_custom_schema_decides_case_exactness() {
    struct AllExact;
    impl AttributeSchema for AllExact {
        fn case_exact(&self, _: &AttrPath) -> bool {
            true
        }
        fn kind(&self, path: &AttrPath) -> AttributeKind {
            CoreSchema.kind(path)
        }
    }
    let f = Filter::parse(r#"userName eq "BJensen@Example.com""#).unwrap();
    assert!(f.matches(&bjensen(), &CoreSchema));
    assert!(!f.matches(&bjensen(), &AllExact));
}

#[test]
fn orderings_compare_strings_lexicographically_date_times_as_instants_and_numbers_numerically() {
    let user = bjensen();
    assert_all(
        &user,
        true,
        &[
            r#"title gt "Tour""#,
            r#"title lt "tourz""#,
            r#"title ge "TOUR GUIDE""#,
            r#"title le "tour guide""#,
            r#"meta.lastModified gt "2011-05-13T04:42:33Z""#,
            r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified le "2011-05-13T04:42:34.000Z""#,
            // The same instant in another offset.
            r#"meta.lastModified eq "2011-05-13T06:42:34+02:00""#,
            // As text "2011-05-13T04…" > "2011-05-13T03…", as instants it is earlier.
            r#"meta.lastModified lt "2011-05-13T03:42:34-02:00""#,
            r#"meta.created lt "2011-01-01T00:00:00Z""#,
            // As text "30" < "4"; as numbers 30 > 4.
            "age gt 4",
            "age ge 30",
            "age lt 30.5",
            "age le 30",
            "age eq 30.0",
        ],
    );
    assert_all(
        &user,
        false,
        &[
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
            // Not a date-time: never in order.
            r#"meta.lastModified gt "yesterday""#,
            "age gt 30",
            "age lt 4",
            // Types do not mix.
            r#"age gt "4""#,
            r#"title gt 4"#,
            // Booleans are never ordered, whatever the literal.
            r#"active gt "a""#,
        ],
    );
}

#[test]
fn pr_needs_a_non_empty_value() {
    let user = bjensen();
    assert_all(&user, true, &["title pr", "name pr", "emails pr", "emails.type pr", "active pr", "age pr"]);
    assert_all(
        &user,
        false,
        &[
            "nickName pr",
            "phoneNumbers pr",
            "addresses pr",
            "addresses.locality pr",
            "missing pr",
            "name.middleName pr",
        ],
    );
}

#[test]
fn a_multi_valued_attribute_matches_when_any_value_does() {
    let user = bjensen();
    assert_all(
        &user,
        true,
        &[
            r#"emails.value co "jensen.org""#,
            r#"emails.type eq "home""#,
            // A complex value is compared by its `value`.
            r#"emails co "example.com""#,
            r#"emails ew ".org""#,
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        ],
    );
    assert_all(&user, false, &[r#"emails.type eq "other""#, r#"emails co "example.net""#]);
}

#[test]
fn ne_holds_when_no_value_is_equal_and_null_means_absent() {
    let user = bjensen();
    assert_all(
        &user,
        true,
        &[r#"emails.type ne "other""#, r#"missing ne "x""#, "missing eq null", "nickName eq null", "title ne null"],
    );
    assert_all(&user, false, &[r#"emails.type ne "home""#, "title eq null", "missing ne null"]);
}

#[test]
fn booleans_compare_as_booleans() {
    let user = bjensen();
    assert_all(
        &user,
        true,
        &["active eq true", "active ne false", "emails[primary eq true]", "emails[primary ne true]"],
    );
    // A string literal is not a boolean, and an absent `primary` is not false.
    assert_all(&user, false, &[r#"active eq "true""#, "active eq false", "emails[primary eq false]"]);
}

#[test]
fn value_paths_match_one_value_on_all_its_conditions() {
    let user = bjensen();
    assert_all(
        &user,
        true,
        &[
            r#"emails[type eq "work" and value co "@example.com"]"#,
            r#"emails[type eq "home" and value co "@jensen.org"]"#,
            r#"emails[not (type eq "work")]"#,
            r#"ims[type eq "aim"] or emails[type eq "other"]"#,
        ],
    );
    // Each condition holds for some email, but not both for the same one.
    assert_all(&user, false, &[r#"emails[type eq "work" and value co "@jensen.org"]"#, r#"ims[type eq "xmpp"]"#]);

    let group = group();
    assert!(on(&group, r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#));
    assert!(!on(&group, r#"members[value eq "00000000-7f76-453a-919d-413861904646"]"#));
    assert!(on(&group, r#"members[display sw "mandy"]"#));
}

#[test]
fn schema_urn_prefixes_find_core_and_extension_attributes() {
    let user = bjensen();
    assert_all(
        &user,
        true,
        &[
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "B""#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:MANAGER.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
        ],
    );
    assert_all(
        &user,
        false,
        &[
            // Unprefixed names are core attributes only.
            r#"employeeNumber eq "701984""#,
            // The extension's attributes are not the core's, and an unknown schema has none.
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:userName pr"#,
            r#"urn:example:other:2.0:User:userName pr"#,
        ],
    );
}

#[test]
fn logical_operators_combine() {
    let user = bjensen();
    assert_all(
        &user,
        true,
        &[
            r#"title pr and userType eq "Employee""#,
            r#"title pr or userType eq "Intern""#,
            r#"missing pr or userType eq "employee""#,
            r#"not (userType eq "Intern")"#,
            // `and` binds tighter: false or (true and true).
            r#"userType eq "Intern" or title pr and active eq true"#,
        ],
    );
    assert_all(
        &user,
        false,
        &[
            r#"title pr and userType eq "Intern""#,
            r#"(userType eq "Intern" or title pr) and active eq false"#,
            r#"not (title pr)"#,
        ],
    );
}

#[test]
fn the_rfc_examples_and_identity_provider_filters_evaluate() {
    let user = bjensen();
    let results: Vec<bool> = RFC_EXAMPLES.iter().map(|f| on(&user, f)).collect();
    assert_eq!(
        results,
        [
            false, // userName is bjensen@example.com
            false, // familyName is Jensen
            false, // userName starts with B
            false, true, false, // lastModified is exactly the literal
            true, false, true, true, true, true, true,  // emails co "example.com"
            false, // userType is Employee
            true, true, true,
        ]
    );
    let idp: Vec<bool> = IDP_FILTERS.iter().map(|f| on(&user, f) || on(&group(), f)).collect();
    assert_eq!(idp, [false, false, false, false, true, false, true, false, false]);
    assert!(on(&user, r#"userName eq "bjensen@example.com""#));
    assert!(on(&user, r#"externalId eq "701984""#));
}
