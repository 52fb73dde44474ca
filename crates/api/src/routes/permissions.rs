//! The permission catalogue, and a caller's permissions in an organization.

use std::collections::BTreeMap;

use actix_web::{get, web, HttpResponse};
use orgd_domain::authz::{Grant, Permission};
use orgd_domain::org::{OrgError, OrgRef};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::common::{path_id, ORG_PARAM};
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::openapi::Errors;
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(catalogue).service(my_permissions);
}

/// One permission of the catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionInfo {
    #[schema(example = "members:update")]
    pub name: &'static str,
    #[schema(example = "Change members' roles and suspend or restore them.")]
    pub description: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Catalogue {
    pub data: Vec<PermissionInfo>,
}

/// The caller's rights in one organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionMap {
    /// The caller's role key (`api_key` for an API key).
    #[schema(example = "admin")]
    pub role: String,
    /// `direct`, `staff` or `api_key`.
    #[schema(example = "direct")]
    pub access: &'static str,
    /// Every catalogue permission, and whether the caller holds it here.
    pub permissions: BTreeMap<&'static str, bool>,
    /// The permissions the caller lacks; anything not listed is allowed.
    #[schema(example = json!(["billing:update"]))]
    pub denied: Vec<&'static str>,
}

impl From<Grant> for PermissionMap {
    fn from(grant: Grant) -> Self {
        PermissionMap {
            role: grant.role.to_string(),
            access: grant.access.as_str(),
            permissions: Permission::ALL.iter().map(|p| (p.as_str(), grant.permissions.contains(*p))).collect(),
            denied: grant.denied().iter().map(|p| p.as_str()).collect(),
        }
    }
}

/// The fixed catalogue of `resource:action` permissions that roles, invites and API keys
/// are made of. Public: it is the same for everyone.
#[utoipa::path(tag = "permissions", security(()), responses((status = 200, body = Catalogue)))]
#[get("/permissions")]
pub async fn catalogue() -> HttpResponse {
    let data =
        Permission::ALL.iter().map(|p| PermissionInfo { name: p.as_str(), description: p.description() }).collect();
    HttpResponse::Ok().json(Catalogue { data })
}

/// The caller's permission map in an organization, for client-side gating.
#[utoipa::path(
    tag = "permissions",
    params(("org" = String, Path, description = ORG_PARAM)),
    responses((status = 200, body = PermissionMap), Errors<OrgError>)
)]
#[get("/orgs/{org}/permissions")]
pub async fn my_permissions(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let grant = state
        .run_from_memory(
            (caller.0, org),
            |s, (caller, org)| s.orgs.permissions_from_memory(caller, org),
            |s, (caller, org)| s.orgs.permissions(caller, org),
        )
        .await?;
    Ok(HttpResponse::Ok().json(PermissionMap::from(grant)))
}

#[cfg(test)]
mod tests {
    use orgd_domain::authz::{Access, Grant, Permission, PermissionSet, RoleKey, SystemRole};

    use super::PermissionMap;

    /// Reads the served body back as a Rust service does, with the domain's own type.
    fn read_back(grant: &Grant) -> Result<Grant, orgd_domain::Invalid> {
        let body = serde_json::to_string(&PermissionMap::from(grant.clone())).unwrap();
        Grant::try_from(serde_json::from_str::<orgd_domain::authz::PermissionMap>(&body).unwrap())
    }

    #[test]
    fn a_rust_service_reads_the_served_map_back_as_the_same_grant() {
        let custom = Grant {
            role: RoleKey::parse("billing-admin").unwrap(),
            permissions: PermissionSet::of(&[Permission::OrgRead, Permission::BillingRead, Permission::BillingUpdate]),
            access: Access::Direct,
        };
        let mut grants = vec![custom];
        for role in SystemRole::ALL {
            grants.extend(Access::ALL.iter().map(|access| Grant { access: *access, ..Grant::for_system_role(*role) }));
        }
        for grant in grants {
            assert_eq!(read_back(&grant), Ok(grant.clone()));
        }
    }
}
