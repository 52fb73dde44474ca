//! Invitations: links (any number of uses up to a maximum) and email-bound invites (for
//! one verified address), each handing out one role, and optionally a team seat.

mod email;
mod model;
mod service;

pub use email::{render_invite_email, InviteEmail};
pub use model::{
    AcceptedInvite, CreateInvite, Invite, InviteError, InvitePreview, InviteRepository, InviteStatus, InviteView,
    IssuedInvite, Redemption,
};
pub use service::{InviteService, InviteSettings};

#[cfg(test)]
mod tests;
