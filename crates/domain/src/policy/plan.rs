//! Plans and the features they entitle an organization to.

use std::fmt;

use crate::error::ValueError;

/// A feature a plan may or may not include. Reading a feature's settings is never gated;
/// writing them is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Feature {
    Sso,
    Scim,
    CustomRoles,
    IpAllowlist,
    AuditExport,
    LlmPolicy,
}

impl Feature {
    pub const ALL: &'static [Feature] = &[
        Feature::Sso,
        Feature::Scim,
        Feature::CustomRoles,
        Feature::IpAllowlist,
        Feature::AuditExport,
        Feature::LlmPolicy,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Feature::Sso => "sso",
            Feature::Scim => "scim",
            Feature::CustomRoles => "custom_roles",
            Feature::IpAllowlist => "ip_allowlist",
            Feature::AuditExport => "audit_export",
            Feature::LlmPolicy => "llm_policy",
        }
    }
}

/// An organization's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Plan {
    Free,
    Team,
    /// Every feature. The default of a self-hosted deployment, whose operator owns it.
    #[default]
    Enterprise,
}

impl Plan {
    pub const ALL: &'static [Plan] = &[Plan::Free, Plan::Team, Plan::Enterprise];

    pub const fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Team => "team",
            Plan::Enterprise => "enterprise",
        }
    }

    pub fn parse(value: &str) -> Result<Self, ValueError> {
        Self::ALL
            .iter()
            .copied()
            .find(|p| p.as_str() == value)
            .ok_or_else(|| ValueError::new("unknown_plan", "one of free, team, enterprise"))
    }

    pub fn includes(self, feature: Feature) -> bool {
        match self {
            Plan::Free => false,
            Plan::Team => matches!(feature, Feature::CustomRoles | Feature::AuditExport | Feature::LlmPolicy),
            Plan::Enterprise => true,
        }
    }

    /// Refuses writing the settings of a feature the plan does not include.
    pub fn require(self, feature: Feature) -> Result<(), crate::AccessError> {
        if self.includes(feature) {
            Ok(())
        } else {
            Err(crate::AccessError::FeatureNotInPlan { feature: feature.as_str(), plan: self.as_str() })
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_nest() {
        for feature in Feature::ALL {
            assert!(Plan::Enterprise.includes(*feature));
            assert!(!Plan::Free.includes(*feature));
            if Plan::Team.includes(*feature) {
                assert!(Plan::Enterprise.includes(*feature));
            }
        }
        assert!(Plan::Team.require(Feature::CustomRoles).is_ok());
        assert_eq!(
            Plan::Team.require(Feature::Sso),
            Err(crate::AccessError::FeatureNotInPlan { feature: "sso", plan: "team" })
        );
    }
}
