//! The organization's dashboard: aggregate figures, each section shown only to a caller
//! who may read its source. Every figure comes from a counter or an index range, never
//! from counting a large table.

mod service;

pub use service::{
    ApiKeyFigures, AuditFigures, Dashboard, DashboardCounts, DashboardError, DashboardRepository, DashboardService,
    InviteFigures, MemberFigures, MfaFigures, RoleFigures, TeamFigures,
};

#[cfg(test)]
mod tests;
