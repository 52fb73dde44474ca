//! The request bodies of `/scim/v2` as JSON Schemas, derived from the SCIM schemas the
//! service implements (`orgd_domain::scim::schema`), so the document follows them.
//!
//! What these schemas state, the service enforces: a body they refuse is a SCIM `400`.
//! They state no more than that, as SCIM is lenient by design: attribute names match in any
//! case, unknown attributes are ignored, strings may be sent as numbers, booleans as
//! `"True"`/`"False"`, a multi-valued attribute as a single value. What no JSON Schema can
//! state is checked by the service and also answered with a SCIM `400`: the grammar of
//! filters and PATCH paths, what a PATCH operation's `value` must be for its `path`, that a
//! group's members are Users of the organization.

use std::borrow::Cow;

use orgd_domain::scim::filter::AttributeKind;
use orgd_domain::scim::resource::{MAX_EXTERNAL_ID_CHARS, MAX_MEMBERS, MAX_STRING_CHARS, MAX_VALUES};
use orgd_domain::scim::schema::{AttrDef, Mutability, ResourceSchema, GROUP_RESOURCE, USER_RESOURCE};
use orgd_domain::scim::MAX_USER_NAME_CHARS;
use serde_json::Value;
use utoipa::openapi::schema::{
    AnyOfBuilder, ArrayBuilder, KnownFormat, Object, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use super::http::MAX_FILTER_CHARS;

/// Unicode `Cc` but line feed and tab: what a string attribute may not contain.
const REFUSED_CONTROLS: &str = r"\x00-\x08\x0b-\x1f\x7f-\x9f";
/// Unicode `White_Space` but control characters: what a group's `displayName` may start or
/// end with, trimmed away (the others are refused as control characters).
const NAME_SPACES: &str = r"\t\n \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// Unicode `Cc`: what a team name may not contain.
const CONTROLS: &str = r"\x00-\x1f\x7f-\x9f";
/// `true` or `false` in any case, as Microsoft Entra ID sends booleans.
const BOOLEAN_TEXT: &str = "^(?:[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$";
/// The longest `userName` the service keeps (`orgd_domain::scim::provisioning::users`).
/// A PATCH operation's `op`, in any case.
const PATCH_OP: &str = "^(?:[Aa][Dd][Dd]|[Rr][Ee][Pp][Ll][Aa][Cc][Ee]|[Rr][Ee][Mm][Oo][Vv][Ee])$";

fn types(kinds: &[Type]) -> SchemaType {
    SchemaType::from_iter(kinds.iter().cloned())
}

fn any_value(description: &str) -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(SchemaType::AnyValue).description(Some(description)).into()
}

/// A string value: with `numbers`, also a number, taken as its decimal text; empty or `null`
/// is no value, which a `required` one may not be.
fn string_value(description: &str, numbers: bool, required: bool) -> ObjectBuilder {
    let mut kinds = vec![Type::String];
    if numbers {
        kinds.push(Type::Number);
    }
    if !required {
        kinds.push(Type::Null);
    }
    ObjectBuilder::new()
        .schema_type(types(&kinds))
        .min_length(required.then_some(1))
        .max_length(Some(MAX_STRING_CHARS))
        .pattern(Some(format!("^[^{REFUSED_CONTROLS}]*$")))
        .description(Some(description))
}

/// One value of an attribute (a multi-valued attribute's item).
fn single_value(def: &AttrDef) -> RefOr<Schema> {
    match def.kind {
        AttributeKind::Complex => {
            let mut object = ObjectBuilder::new().schema_type(types(&[Type::Object, Type::Null]));
            for sub in def.sub {
                object = object.property(sub.name, attribute(sub));
            }
            object.description(Some(def.description)).into()
        }
        AttributeKind::Boolean => ObjectBuilder::new()
            .schema_type(types(&[Type::Boolean, Type::String, Type::Null]))
            .pattern(Some(BOOLEAN_TEXT))
            .description(Some(def.description))
            .into(),
        _ => string_value(def.description, true, def.required).into(),
    }
}

/// The most values a multi-valued attribute holds, as sent (duplicates included).
fn max_values(def: &AttrDef) -> usize {
    if def.name == "members" {
        MAX_MEMBERS
    } else {
        MAX_VALUES
    }
}

/// A multi-valued attribute: a list of at most [`max_values`] values, or a single value.
fn multi_valued(def: &AttrDef, item: RefOr<Schema>) -> RefOr<Schema> {
    AnyOfBuilder::new()
        .item(ArrayBuilder::new().items(item.clone()).max_items(Some(max_values(def))))
        .item(item)
        .description(Some(format!("{} A list of at most {}, or a single value.", def.description, max_values(def))))
        .into()
}

/// An attribute as a body may carry it.
fn attribute(def: &AttrDef) -> RefOr<Schema> {
    if def.mutability == Mutability::ReadOnly {
        return any_value(&format!("{} Read-only: ignored.", def.description));
    }
    if !def.multi {
        return single_value(def);
    }
    multi_valued(def, single_value(def))
}

/// A resource of `schema` as POST and PUT take it; `attr` may replace an attribute's schema.
fn resource(
    schema: &ResourceSchema,
    description: &str,
    attr: impl Fn(&AttrDef) -> Option<RefOr<Schema>>,
) -> RefOr<Schema> {
    let mut object = ObjectBuilder::new().schema_type(Type::Object).description(Some(description));
    for def in schema.core.attributes {
        object = object.property(def.name, attr(def).unwrap_or_else(|| attribute(def)));
        if def.required {
            object = object.required(def.name);
        }
    }
    object = object.property(
        "externalId",
        string_value("The identity provider's id for the resource.", false, false)
            .max_length(Some(MAX_EXTERNAL_ID_CHARS))
            .description(Some(format!(
                "The identity provider's id for the resource, at most {MAX_EXTERNAL_ID_CHARS} characters."
            ))),
    );
    for extension in schema.extensions {
        let mut fields = ObjectBuilder::new().schema_type(types(&[Type::Object, Type::Null]));
        for def in extension.attributes {
            fields = fields.property(def.name, attribute(def));
        }
        object = object.property(extension.id, fields.description(Some(extension.description)));
    }
    object.into()
}

/// A User resource, the body of `POST /Users` and `PUT /Users/{id}`.
pub struct UserResource;

impl PartialSchema for UserResource {
    fn schema() -> RefOr<Schema> {
        resource(
            &USER_RESOURCE,
            "A SCIM User (RFC 7643 §4.1) with the enterprise extension, attributes named in any case. \
             `id`, `meta`, `schemas` and attributes this service does not implement are ignored.",
            |def| {
                (def.name == "userName").then(|| {
                    string_value(def.description, true, true)
                        .max_length(Some(MAX_USER_NAME_CHARS))
                        .description(Some(format!("{} At most {MAX_USER_NAME_CHARS} characters.", def.description)))
                        .into()
                })
            },
        )
    }
}

impl ToSchema for UserResource {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ScimUser")
    }
}

/// A team name, as `TeamName::parse` takes it: 1 to `max` characters once trimmed, no
/// control characters; SCIM refuses the control characters that are also spaces before
/// trimming.
fn team_name_pattern(max: usize) -> String {
    let edge = format!("[^{NAME_SPACES}{CONTROLS}]");
    format!("^[{NAME_SPACES}]*{edge}(?:[^{CONTROLS}]{{0,{}}}{edge})?[{NAME_SPACES}]*$", max.saturating_sub(2))
}

/// A Group resource, the body of `POST /Groups` and `PUT /Groups/{id}`.
pub struct GroupResource;

impl PartialSchema for GroupResource {
    fn schema() -> RefOr<Schema> {
        resource(
            &GROUP_RESOURCE,
            "A SCIM Group (RFC 7643 §4.2): a team. Its `members` are Users of the organization, by id \
             (`value`); `id`, `meta`, `schemas` and attributes this service does not implement are ignored.",
            |def| match def.name {
                "displayName" => Some(
                    ObjectBuilder::new()
                        .schema_type(types(&[Type::String, Type::Number]))
                        .max_length(Some(MAX_STRING_CHARS))
                        .pattern(Some(team_name_pattern(orgd_domain::team::TeamName::MAX_CHARS)))
                        .description(Some(format!(
                            "{} 1 to {} characters once trimmed, no control characters.",
                            def.description,
                            orgd_domain::team::TeamName::MAX_CHARS
                        )))
                        .into(),
                ),
                "members" => {
                    let mut item = ObjectBuilder::new().schema_type(types(&[Type::Object, Type::Null]));
                    for sub in def.sub {
                        let schema = if sub.name == "type" {
                            ObjectBuilder::new()
                                .schema_type(SchemaType::AnyValue)
                                .enum_values(Some([Value::from("User"), Value::from(""), Value::Null]))
                                .description(Some(sub.description))
                                .into()
                        } else {
                            attribute(sub)
                        };
                        item = item.property(sub.name, schema);
                    }
                    Some(multi_valued(def, item.description(Some(def.description)).into()))
                }
                _ => None,
            },
        )
    }
}

impl ToSchema for GroupResource {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ScimGroup")
    }
}

/// A PatchOp message, the body of `PATCH /Users/{id}` and `PATCH /Groups/{id}`.
pub struct PatchOp;

impl PartialSchema for PatchOp {
    fn schema() -> RefOr<Schema> {
        let operation = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property(
                "op",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(PATCH_OP))
                    .description(Some("`add`, `replace` or `remove`, in any case.")),
            )
            .required("op")
            .property(
                "path",
                any_value(
                    "The attribute to change (RFC 7644 §3.5.2), e.g. `name.givenName`, \
                     `emails[type eq \"work\"].value`, `members[value eq \"mem_…\"]`; required by `remove`. \
                     Without it, `value` is an object of attributes.",
                ),
            )
            .property("value", any_value("The value, of the type of the attribute `path` names."));
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "A PatchOp message (RFC 7644 §3.5.2): \
                 `{\"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"], \"Operations\": [...]}`, \
                 names in any case.",
            ))
            .property(
                "Operations",
                ArrayBuilder::new()
                    .items(operation)
                    .max_items(Some(orgd_domain::scim::patch::MAX_OPERATIONS))
                    .description(Some("The operations, applied in order; all or none.")),
            )
            .required("Operations")
            .into()
    }
}

impl ToSchema for PatchOp {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ScimPatchOp")
    }
}

fn integer(description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(types(&[Type::Integer, Type::Null]))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .description(Some(description))
        .build()
}

fn attribute_list(description: &str) -> RefOr<Schema> {
    ArrayBuilder::new()
        .schema_type(types(&[Type::Array, Type::Null]))
        .items(ObjectBuilder::new().schema_type(Type::String))
        .description(Some(description))
        .into()
}

/// A SearchRequest message, the body of `POST /.search`.
pub struct SearchRequest;

impl PartialSchema for SearchRequest {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("A SearchRequest message (RFC 7644 §3.4.3); `schemas` is ignored."))
            .property(
                "filter",
                ObjectBuilder::new()
                    .schema_type(types(&[Type::String, Type::Null]))
                    .max_length(Some(MAX_FILTER_CHARS))
                    .description(Some(
                        "A SCIM filter (RFC 7644 §3.4.2.2); one that does not parse is `invalidFilter`.",
                    )),
            )
            .property("startIndex", integer("1-based index of the first result; below 1 reads as 1."))
            .property("count", integer("Results per page: 100 by default, at most 1000; a negative value reads as 0."))
            .property(
                "attributes",
                attribute_list(
                    "Only these attributes, with those always returned; a path that does not parse is `invalidPath`.",
                ),
            )
            .property("excludedAttributes", attribute_list("All attributes but these."))
            .into()
    }
}

impl ToSchema for SearchRequest {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ScimSearchRequest")
    }
}
