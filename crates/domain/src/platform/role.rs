use std::fmt;

/// What a member of the platform's staff may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StaffRole {
    /// Read every organization; change nothing.
    Read,
    /// Read and change every organization through `/v1/admin`.
    Admin,
}

impl StaffRole {
    /// The name the token's staff claim and the HTTP API give the role: `staff_read` or
    /// `staff_admin`.
    pub const fn as_str(self) -> &'static str {
        match self {
            StaffRole::Read => "staff_read",
            StaffRole::Admin => "staff_admin",
        }
    }

    /// The role a claim value names: `staff_read` or `staff_admin`.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "staff_read" => Some(StaffRole::Read),
            "staff_admin" => Some(StaffRole::Admin),
            _ => None,
        }
    }

    /// Whether the role changes organizations (`/v1/admin` writes).
    pub const fn may_write(self) -> bool {
        matches!(self, StaffRole::Admin)
    }
}

impl fmt::Display for StaffRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
