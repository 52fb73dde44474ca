//! Plans and the features they entitle an organization to.

use std::fmt;

use crate::error::ValueError;

/// A feature a plan may or may not include. Reading a feature's settings is never gated;
/// writing them is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Feature {
    /// SSO federation (`sso`).
    Sso,
    /// SCIM provisioning (`scim`).
    Scim,
    /// Custom roles (`custom_roles`).
    CustomRoles,
    /// The IP allowlist (`ip_allowlist`).
    IpAllowlist,
    /// Exporting the audit log (`audit_export`).
    AuditExport,
    /// The LLM admission policy (`llm_policy`).
    LlmPolicy,
}

impl Feature {
    /// Every feature.
    pub const ALL: &'static [Feature] = &[
        Feature::Sso,
        Feature::Scim,
        Feature::CustomRoles,
        Feature::IpAllowlist,
        Feature::AuditExport,
        Feature::LlmPolicy,
    ];

    /// The name the HTTP API gives the feature, e.g. `custom_roles`.
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

    /// Reads back a name [`Feature::as_str`] gives, or says which names exist.
    pub fn parse(value: &str) -> Result<Self, ValueError> {
        Self::ALL.iter().copied().find(|f| f.as_str() == value).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|f| f.as_str()).collect();
            ValueError::new("unknown_feature", format!("one of {}", names.join(", ")))
        })
    }
}

/// An organization's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Plan {
    /// No gated feature.
    Free,
    /// Custom roles, audit export and the LLM policy.
    Team,
    /// Every feature. The default of a self-hosted deployment, whose operator owns it.
    #[default]
    Enterprise,
}

impl Plan {
    /// Every plan, smallest first.
    pub const ALL: &'static [Plan] = &[Plan::Free, Plan::Team, Plan::Enterprise];

    /// The name the HTTP API gives the plan, e.g. `team`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Team => "team",
            Plan::Enterprise => "enterprise",
        }
    }

    /// Reads back a name [`Plan::as_str`] gives.
    pub fn parse(value: &str) -> Result<Self, ValueError> {
        Self::ALL
            .iter()
            .copied()
            .find(|p| p.as_str() == value)
            .ok_or_else(|| ValueError::new("unknown_plan", "one of free, team, enterprise"))
    }

    /// Whether the plan itself includes `feature`, overrides aside.
    pub fn includes(self, feature: Feature) -> bool {
        match self {
            Plan::Free => false,
            Plan::Team => matches!(feature, Feature::CustomRoles | Feature::AuditExport | Feature::LlmPolicy),
            Plan::Enterprise => true,
        }
    }
}

/// What an organization may configure: its plan's features, with per-organization
/// overrides set by platform staff granting a feature the plan lacks or withholding one it
/// includes. Every feature gate asks this, never the plan alone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Entitlements {
    /// The plan.
    pub plan: Plan,
    /// feature → granted (`true`) or withheld (`false`) whatever the plan says.
    pub overrides: std::collections::BTreeMap<Feature, bool>,
}

impl Entitlements {
    /// The plan's features, no overrides.
    pub fn of(plan: Plan) -> Self {
        Self { plan, overrides: Default::default() }
    }

    /// Whether the organization may configure `feature`: its override if any, else its plan.
    pub fn includes(&self, feature: Feature) -> bool {
        self.overrides.get(&feature).copied().unwrap_or_else(|| self.plan.includes(feature))
    }

    /// Every feature the organization may configure, in catalogue order.
    pub fn features(&self) -> Vec<Feature> {
        Feature::ALL.iter().copied().filter(|f| self.includes(*f)).collect()
    }

    /// Refuses writing the settings of a feature the organization is not entitled to.
    pub fn require(&self, feature: Feature) -> Result<(), crate::AccessError> {
        if self.includes(feature) {
            Ok(())
        } else {
            Err(crate::AccessError::FeatureNotInPlan { feature: feature.as_str(), plan: self.plan.as_str() })
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
        assert!(Entitlements::of(Plan::Team).require(Feature::CustomRoles).is_ok());
        assert_eq!(
            Entitlements::of(Plan::Team).require(Feature::Sso),
            Err(crate::AccessError::FeatureNotInPlan { feature: "sso", plan: "team" })
        );
    }

    #[test]
    fn overrides_grant_and_withhold_whatever_the_plan() {
        let mut entitlements = Entitlements::of(Plan::Free);
        entitlements.overrides.insert(Feature::Sso, true);
        assert!(entitlements.require(Feature::Sso).is_ok());
        assert!(entitlements.require(Feature::Scim).is_err());
        let mut enterprise = Entitlements::of(Plan::Enterprise);
        enterprise.overrides.insert(Feature::Scim, false);
        assert!(!enterprise.includes(Feature::Scim) && enterprise.includes(Feature::Sso));
        assert_eq!(entitlements.features(), vec![Feature::Sso]);
        assert_eq!(Feature::parse("audit_export"), Ok(Feature::AuditExport));
        assert!(Feature::parse("teleport").is_err());
    }
}
