use chrono::{DateTime, Utc};

use super::model::{AdminOrg, OrgSearch, PlatformAuditEvent};
use crate::audit::{AuditFilter, AuditRecord};
use crate::error::StoreError;
use crate::ids::OrgId;
use crate::org::{OrgName, OrgWriteError};
use crate::pagination::{Page, PageRequest};

/// The port platform staff's use cases read and write through. Unlike the tenant ports,
/// it sees deleted organizations too.
pub trait PlatformRepository {
    /// Organizations matching `search`, in id order.
    fn search_orgs(&mut self, search: &OrgSearch, page: PageRequest) -> Result<Page<AdminOrg>, StoreError>;

    /// The organization, deleted or not; with `lock`, locked until the transaction ends.
    fn find_any_org(&mut self, id: OrgId, lock: bool) -> Result<Option<AdminOrg>, StoreError>;

    /// Whether a live organization has this name (case-insensitive).
    fn org_name_taken(&mut self, name: &OrgName) -> Result<bool, StoreError>;

    /// Undoes a soft delete: the organization is live again, its version bumped.
    fn restore_org(&mut self, id: OrgId, at: DateTime<Utc>) -> Result<(), OrgWriteError>;

    /// Appends a copy of an organization's audit record to the platform log.
    fn append_platform_audit(&mut self, record: &AuditRecord) -> Result<(), StoreError>;

    /// Up to `limit` records matching `filter` (its action prefix, actor and time range;
    /// `org` narrows to one organization), newest first, strictly before `before_seq`.
    fn list_platform_audit(
        &mut self,
        org: Option<OrgId>,
        filter: &AuditFilter,
        before_seq: Option<i64>,
        limit: i64,
    ) -> Result<Vec<PlatformAuditEvent>, StoreError>;
}
