//! Teams: named groups of an organization's members, each with its managers.
//!
//! A team's managers may add and remove its (non-manager) members without holding
//! `teams:update` organization-wide; renaming, deleting and appointing managers stay with
//! `teams:update` and `teams:delete`. Teams are what SCIM groups map to, by `external_id`.

mod model;
mod service;

pub use model::{
    CreateTeam, Team, TeamDetail, TeamError, TeamMember, TeamName, TeamRepository, TeamSummary, TeamWriteError,
    UpdateTeam,
};
pub use service::TeamService;

#[cfg(test)]
mod tests;
