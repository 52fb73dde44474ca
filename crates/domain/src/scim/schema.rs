//! The SCIM schemas this service implements (RFC 7643 §4, §8.7): exactly the attributes
//! it stores and returns. The same definitions validate what identity providers send,
//! drive filtering and PATCH, and are published at `/Schemas`.

use serde_json::{json, Value};

use super::filter::{AttrPath, AttributeKind, AttributeSchema};

/// The URN of the SCIM core User schema (RFC 7643 §4.1).
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The URN of the SCIM enterprise User extension (RFC 7643 §4.3).
pub const ENTERPRISE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The URN of the SCIM core Group schema (RFC 7643 §4.2).
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// RFC 7643 §7 `mutability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    /// Set by the service; clients may not write it.
    ReadOnly,
    /// Clients may read and write it.
    ReadWrite,
    /// Set once, at creation; never changed after.
    Immutable,
    /// Clients may write it but never read it back.
    WriteOnly,
}

/// RFC 7643 §7 `returned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    /// In every response, whatever the client asks for.
    Always,
    /// In no response.
    Never,
    /// In responses, unless the client excludes it.
    Default,
    /// Only when the client asks for it by name.
    Request,
}

/// One attribute of a schema.
#[derive(Debug, Clone, Copy)]
pub struct AttrDef {
    /// The attribute's name as published (e.g. `userName`); matched without case.
    pub name: &'static str,
    /// Its SCIM data type.
    pub kind: AttributeKind,
    /// True when it holds a list of values.
    pub multi: bool,
    /// True when a resource without it is refused.
    pub required: bool,
    /// True when its string values compare with case.
    pub case_exact: bool,
    /// Who may write it, and when.
    pub mutability: Mutability,
    /// When responses carry it.
    pub returned: Returned,
    /// Unique among the organization's resources (`server`).
    pub unique: bool,
    /// The values it suggests (`canonicalValues`, e.g. `work`, `home`, `other`).
    pub canonical: &'static [&'static str],
    /// What a reference attribute may point at (e.g. `User`, `external`).
    pub reference_types: &'static [&'static str],
    /// The sub-attributes of a complex attribute; empty otherwise.
    pub sub: &'static [AttrDef],
    /// The description published at `/Schemas`.
    pub description: &'static str,
}

impl AttrDef {
    const fn string(name: &'static str, description: &'static str) -> Self {
        Self {
            name,
            kind: AttributeKind::String,
            multi: false,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            unique: false,
            canonical: &[],
            reference_types: &[],
            sub: &[],
            description,
        }
    }

    const fn boolean(name: &'static str, description: &'static str) -> Self {
        Self { kind: AttributeKind::Boolean, ..Self::string(name, description) }
    }

    const fn complex(name: &'static str, sub: &'static [AttrDef], description: &'static str) -> Self {
        Self { kind: AttributeKind::Complex, sub, ..Self::string(name, description) }
    }

    const fn multi(self) -> Self {
        Self { multi: true, ..self }
    }

    const fn required(self) -> Self {
        Self { required: true, ..self }
    }

    const fn unique(self) -> Self {
        Self { unique: true, ..self }
    }

    const fn mutability(self, mutability: Mutability) -> Self {
        Self { mutability, ..self }
    }

    const fn case_exact(self) -> Self {
        Self { case_exact: true, ..self }
    }

    const fn canonical(self, canonical: &'static [&'static str]) -> Self {
        Self { canonical, ..self }
    }

    const fn reference(self, reference_types: &'static [&'static str]) -> Self {
        Self { kind: AttributeKind::Reference, reference_types, case_exact: true, ..self }
    }

    /// The sub-attribute named `name`, in any case.
    pub fn sub_attr(&self, name: &str) -> Option<&'static AttrDef> {
        self.sub.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    fn type_name(&self) -> &'static str {
        match self.kind {
            AttributeKind::String => "string",
            AttributeKind::Boolean => "boolean",
            AttributeKind::Decimal => "decimal",
            AttributeKind::Integer => "integer",
            AttributeKind::DateTime => "dateTime",
            AttributeKind::Binary => "binary",
            AttributeKind::Reference => "reference",
            AttributeKind::Complex => "complex",
        }
    }

    /// The attribute's definition as `/Schemas` publishes it.
    pub fn to_json(&self) -> Value {
        let mut def = json!({
            "name": self.name,
            "type": self.type_name(),
            "multiValued": self.multi,
            "description": self.description,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": match self.mutability {
                Mutability::ReadOnly => "readOnly",
                Mutability::ReadWrite => "readWrite",
                Mutability::Immutable => "immutable",
                Mutability::WriteOnly => "writeOnly",
            },
            "returned": match self.returned {
                Returned::Always => "always",
                Returned::Never => "never",
                Returned::Default => "default",
                Returned::Request => "request",
            },
            "uniqueness": if self.unique { "server" } else { "none" },
        });
        if !self.canonical.is_empty() {
            def["canonicalValues"] = json!(self.canonical);
        }
        if !self.reference_types.is_empty() {
            def["referenceTypes"] = json!(self.reference_types);
        }
        if !self.sub.is_empty() {
            def["subAttributes"] = Value::Array(self.sub.iter().map(AttrDef::to_json).collect());
        }
        def
    }
}

const TYPE_WORK_HOME_OTHER: &[&str] = &["work", "home", "other"];

const NAME: &[AttrDef] = &[
    AttrDef::string("formatted", "The full name, formatted for display."),
    AttrDef::string("familyName", "The family name."),
    AttrDef::string("givenName", "The given name."),
    AttrDef::string("middleName", "The middle name."),
    AttrDef::string("honorificPrefix", "The honorific prefix, e.g. `Ms.`."),
    AttrDef::string("honorificSuffix", "The honorific suffix, e.g. `III`."),
];

const EMAIL: &[AttrDef] = &[
    AttrDef::string("value", "The email address."),
    AttrDef::string("display", "How to show the address."),
    AttrDef::string("type", "What the address is for.").canonical(TYPE_WORK_HOME_OTHER),
    AttrDef::boolean("primary", "The primary address; at most one is."),
];

const PHONE: &[AttrDef] = &[
    AttrDef::string("value", "The phone number."),
    AttrDef::string("display", "How to show the number."),
    AttrDef::string("type", "What the number is for.").canonical(&["work", "home", "mobile", "fax", "pager", "other"]),
    AttrDef::boolean("primary", "The primary number; at most one is."),
];

const USER_ATTRIBUTES: &[AttrDef] = &[
    AttrDef::string("userName", "The identity provider's unique name for the person, often their email.")
        .required()
        .unique(),
    AttrDef::complex("name", NAME, "The person's name, in parts."),
    AttrDef::string("displayName", "The name to show for the person."),
    AttrDef::string("nickName", "A casual name for the person."),
    AttrDef::string("profileUrl", "A page about the person, kept as sent.").reference(&["external"]),
    AttrDef::string("title", "The person's job title."),
    AttrDef::string("userType", "How the organization classifies the person, e.g. `Employee`."),
    AttrDef::string("preferredLanguage", "The preferred language, e.g. `en-US`."),
    AttrDef::string("locale", "The locale for formatting, e.g. `en-US`."),
    AttrDef::string("timezone", "The time zone, e.g. `Europe/Paris`."),
    AttrDef::boolean("active", "Whether the membership is active; `false` suspends it without removing it."),
    AttrDef::complex("emails", EMAIL, "Email addresses; the primary one (else the first) is the person's email.")
        .multi(),
    AttrDef::complex("phoneNumbers", PHONE, "Phone numbers.").multi(),
];

const MANAGER: &[AttrDef] = &[
    AttrDef::string("value", "The manager's SCIM id.").case_exact(),
    AttrDef::string("$ref", "The manager's URI.").reference(&["User"]),
];

const ENTERPRISE_ATTRIBUTES: &[AttrDef] = &[
    AttrDef::string("employeeNumber", "The person's number in the organization."),
    AttrDef::string("costCenter", "The cost center."),
    AttrDef::string("organization", "The organization's name."),
    AttrDef::string("division", "The division."),
    AttrDef::string("department", "The department."),
    AttrDef::complex("manager", MANAGER, "The person's manager."),
];

const MEMBER: &[AttrDef] = &[
    AttrDef::string("value", "The member's SCIM User id (`mem_…`).").case_exact().mutability(Mutability::Immutable),
    AttrDef::string("$ref", "The member's URI.").reference(&["User"]).mutability(Mutability::Immutable),
    AttrDef::string("type", "The kind of member; only `User`: groups do not nest.")
        .canonical(&["User"])
        .mutability(Mutability::Immutable),
];

const GROUP_ATTRIBUTES: &[AttrDef] = &[
    AttrDef::string("displayName", "The group's name: the team's name, unique in the organization.")
        .required()
        .unique(),
    AttrDef::complex("members", MEMBER, "The group's members: members of the organization.").multi(),
];

/// A schema: its URN, name and attributes.
#[derive(Debug, Clone, Copy)]
pub struct SchemaDef {
    /// The schema's URN.
    pub id: &'static str,
    /// Its short name, e.g. `User`.
    pub name: &'static str,
    /// What its resources are.
    pub description: &'static str,
    /// The attributes it defines, in published order.
    pub attributes: &'static [AttrDef],
}

/// The core User schema: a member of the organization.
pub const USER: SchemaDef = SchemaDef {
    id: USER_SCHEMA,
    name: "User",
    description: "A member of the organization.",
    attributes: USER_ATTRIBUTES,
};

/// The enterprise extension of User.
pub const ENTERPRISE_USER: SchemaDef = SchemaDef {
    id: ENTERPRISE_USER_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise attributes of a member.",
    attributes: ENTERPRISE_ATTRIBUTES,
};

/// The core Group schema: a team of the organization.
pub const GROUP: SchemaDef = SchemaDef {
    id: GROUP_SCHEMA,
    name: "Group",
    description: "A team of the organization.",
    attributes: GROUP_ATTRIBUTES,
};

/// Every schema, as `/Schemas` lists them.
pub const ALL: [SchemaDef; 3] = [USER, ENTERPRISE_USER, GROUP];

impl SchemaDef {
    /// The attribute named `name`, in any case; `None` when the schema has none.
    pub fn attr(&self, name: &str) -> Option<&'static AttrDef> {
        self.attributes.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The schema as `/Schemas/{id}` returns it.
    pub fn to_json(&self, base_url: &str) -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": self.attributes.iter().map(AttrDef::to_json).collect::<Vec<_>>(),
            "meta": { "resourceType": "Schema", "location": format!("{base_url}/Schemas/{}", self.id) },
        })
    }
}

/// A resource type: its core schema and extensions.
#[derive(Debug, Clone, Copy)]
pub struct ResourceSchema {
    /// The resource type's name, e.g. `User`.
    pub name: &'static str,
    /// Its endpoint under the SCIM base URL, e.g. `/Users`.
    pub endpoint: &'static str,
    /// Its core schema.
    pub core: SchemaDef,
    /// The schema extensions it may carry.
    pub extensions: &'static [SchemaDef],
}

/// SCIM Users: members of the organization, with the enterprise extension.
pub const USER_RESOURCE: ResourceSchema =
    ResourceSchema { name: "User", endpoint: "/Users", core: USER, extensions: &[ENTERPRISE_USER] };

/// SCIM Groups: teams of the organization.
pub const GROUP_RESOURCE: ResourceSchema =
    ResourceSchema { name: "Group", endpoint: "/Groups", core: GROUP, extensions: &[] };

/// What an attribute path names in a resource type.
#[derive(Debug, Clone, Copy)]
pub enum Resolved {
    /// `id`, `externalId`, `meta` and their sub-attributes, common to every resource.
    Common {
        /// `id`, `externalId` or `meta`.
        name: &'static str,
        /// The sub-attribute of `meta`, e.g. `lastModified`.
        sub: Option<&'static str>,
    },
    /// A schema attribute, with the extension it lives in (`None`: the core schema).
    Attr {
        /// The URN of the extension, or `None` for the core schema.
        extension: Option<&'static str>,
        /// The attribute.
        attr: &'static AttrDef,
        /// The sub-attribute named, if any.
        sub: Option<&'static AttrDef>,
    },
}

const META_SUB: &[&str] = &["resourceType", "created", "lastModified", "location", "version"];

impl ResourceSchema {
    /// Every schema URN of the type: the core's first.
    pub fn schema_ids(&self) -> impl Iterator<Item = &'static str> + '_ {
        std::iter::once(self.core.id).chain(self.extensions.iter().map(|e| e.id))
    }

    /// The extension whose URN is `urn`, in any case.
    pub fn extension(&self, urn: &str) -> Option<&SchemaDef> {
        self.extensions.iter().find(|e| e.id.eq_ignore_ascii_case(urn))
    }

    /// What `path` names: `None` if nothing of this resource type.
    pub fn resolve(&self, path: &AttrPath) -> Option<Resolved> {
        let schema = match path.schema() {
            None => None,
            Some(urn) if urn.eq_ignore_ascii_case(self.core.id) => None,
            Some(urn) => Some(self.extension(urn)?),
        };
        if schema.is_none() {
            match (path.name(), path.sub_attr()) {
                ("id", None) => return Some(Resolved::Common { name: "id", sub: None }),
                ("externalid", None) => return Some(Resolved::Common { name: "externalId", sub: None }),
                ("meta", sub) => {
                    let sub = match sub {
                        None => None,
                        Some(s) => Some(*META_SUB.iter().find(|m| m.eq_ignore_ascii_case(s))?),
                    };
                    return Some(Resolved::Common { name: "meta", sub });
                }
                _ => {}
            }
        }
        let def = schema.unwrap_or(&self.core);
        let attr = def.attr(path.name())?;
        let sub = match path.sub_attr() {
            None => None,
            Some(s) => Some(attr.sub_attr(s)?),
        };
        Some(Resolved::Attr { extension: schema.map(|s| s.id), attr, sub })
    }
}

impl AttributeSchema for ResourceSchema {
    fn case_exact(&self, path: &AttrPath) -> bool {
        match self.resolve(path) {
            Some(Resolved::Common { name, sub }) => {
                matches!(
                    (name, sub),
                    ("id" | "externalId", None) | ("meta", Some("location" | "version" | "resourceType"))
                )
            }
            Some(Resolved::Attr { sub: Some(sub), .. }) => sub.case_exact,
            Some(Resolved::Attr { attr, sub: None, .. }) => attr.case_exact,
            None => false,
        }
    }

    fn kind(&self, path: &AttrPath) -> AttributeKind {
        match self.resolve(path) {
            Some(Resolved::Common { name: "meta", sub: None }) => AttributeKind::Complex,
            Some(Resolved::Common { name: "meta", sub: Some("created" | "lastModified") }) => AttributeKind::DateTime,
            Some(Resolved::Common { .. }) => AttributeKind::String,
            Some(Resolved::Attr { sub: Some(sub), .. }) => sub.kind,
            Some(Resolved::Attr { attr, sub: None, .. }) => attr.kind,
            None => AttributeKind::String,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_in_any_case_and_through_schema_urns() {
        let path = |p: &str| crate::scim::path::PatchPath::parse(p).unwrap().target();
        assert!(matches!(USER_RESOURCE.resolve(&path("USERNAME")), Some(Resolved::Attr { extension: None, .. })));
        assert!(matches!(
            USER_RESOURCE.resolve(&path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department")),
            Some(Resolved::Attr { extension: Some(ENTERPRISE_USER_SCHEMA), .. })
        ));
        assert!(matches!(USER_RESOURCE.resolve(&path("meta.lastModified")), Some(Resolved::Common { .. })));
        assert!(USER_RESOURCE.resolve(&path("password")).is_none());
        assert!(USER_RESOURCE.resolve(&path("name.nope")).is_none());
        assert_eq!(USER_RESOURCE.kind(&path("meta.lastmodified")), AttributeKind::DateTime);
        assert!(USER_RESOURCE.case_exact(&path("externalId")));
        assert!(!USER_RESOURCE.case_exact(&path("userName")));
    }

    #[test]
    fn published_definitions_carry_every_required_characteristic() {
        for schema in ALL {
            let json = schema.to_json("https://orgd.example/scim/v2");
            for attr in json["attributes"].as_array().unwrap() {
                for key in
                    ["name", "type", "multiValued", "required", "caseExact", "mutability", "returned", "uniqueness"]
                {
                    assert!(attr.get(key).is_some(), "{} lacks {key}", attr["name"]);
                }
            }
        }
    }
}
