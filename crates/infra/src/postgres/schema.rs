// @generated automatically by Diesel CLI.

diesel::table! {
    api_keys (org_id, id) {
        id -> Uuid,
        org_id -> Uuid,
        name -> Text,
        permissions -> Array<Nullable<Text>>,
        lookup_hash -> Bytea,
        hint -> Text,
        created_by_type -> Text,
        created_by_id -> Text,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        last_used_ip -> Nullable<Inet>,
    }
}

diesel::table! {
    audit_chain_heads (org_id) {
        org_id -> Uuid,
        seq -> Int8,
        hash -> Bytea,
        base_seq -> Int8,
        base_hash -> Bytea,
        prev_hash -> Nullable<Bytea>,
    }
}

diesel::table! {
    audit_events (org_id, id) {
        id -> Uuid,
        org_id -> Uuid,
        seq -> Int8,
        actor_type -> Text,
        actor_id -> Text,
        action -> Text,
        target_type -> Text,
        target_id -> Text,
        changes -> Jsonb,
        request_id -> Nullable<Text>,
        client_ip -> Nullable<Inet>,
        user_agent -> Nullable<Text>,
        occurred_at -> Timestamptz,
        prev_hash -> Bytea,
        hash -> Bytea,
    }
}

diesel::table! {
    events (org_id, seq) {
        seq -> Int8,
        id -> Uuid,
        org_id -> Uuid,
        #[sql_name = "type"]
        type_ -> Text,
        data -> Jsonb,
        occurred_at -> Timestamptz,
    }
}

diesel::table! {
    idempotency_records (scope, key) {
        scope -> Text,
        key -> Text,
        fingerprint -> Bytea,
        status -> Int2,
        headers -> Jsonb,
        body_key_id -> Text,
        body -> Bytea,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    invite_redemptions (org_id, invite_id, member_id) {
        invite_id -> Uuid,
        user_id -> Uuid,
        member_id -> Uuid,
        redeemed_at -> Timestamptz,
        org_id -> Uuid,
    }
}

diesel::table! {
    invites (org_id, id) {
        id -> Uuid,
        org_id -> Uuid,
        role -> Text,
        team_id -> Nullable<Uuid>,
        email -> Nullable<Text>,
        max_uses -> Int4,
        uses -> Int4,
        expires_at -> Timestamptz,
        created_by_type -> Text,
        created_by_id -> Text,
        inviter_name -> Nullable<Text>,
        lookup_hash -> Bytea,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        last_sent_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    join_requests (org_id, id) {
        id -> Uuid,
        org_id -> Uuid,
        user_id -> Uuid,
        email -> Text,
        domain -> Text,
        status -> Text,
        decided_by -> Nullable<Uuid>,
        decided_at -> Nullable<Timestamptz>,
        role -> Nullable<Text>,
        member_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    llm_policies (org_id) {
        org_id -> Uuid,
        providers -> Array<Nullable<Text>>,
        models -> Jsonb,
        default_model -> Nullable<Text>,
        self_hosted_only -> Bool,
        regions -> Array<Nullable<Text>>,
        version -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    memberships (org_id, id) {
        id -> Uuid,
        org_id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        mfa_reminded_at -> Nullable<Timestamptz>,
        suspended_at -> Nullable<Timestamptz>,
        role_source -> Nullable<Text>,
        version -> Int8,
    }
}

diesel::table! {
    notifications (id) {
        id -> Uuid,
        user_id -> Uuid,
        org_id -> Nullable<Uuid>,
        kind -> Text,
        title -> Text,
        body -> Text,
        created_at -> Timestamptz,
        read_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    org_domains (org_id, id) {
        id -> Uuid,
        org_id -> Uuid,
        domain -> Text,
        challenge -> Text,
        verified_at -> Nullable<Timestamptz>,
        expires_at -> Nullable<Timestamptz>,
        last_checked_at -> Nullable<Timestamptz>,
        missing_since -> Nullable<Timestamptz>,
        join_policy -> Text,
        join_role -> Nullable<Text>,
        join_role_set_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int8,
    }
}

diesel::table! {
    org_member_stats (org_id, role) {
        org_id -> Uuid,
        role -> Text,
        members -> Int8,
        suspended -> Int8,
        mfa_enrolled -> Int8,
    }
}

diesel::table! {
    org_policies (org_id) {
        org_id -> Uuid,
        mfa_enforced -> Bool,
        mfa_grace_until -> Nullable<Timestamptz>,
        mfa_version -> Int8,
        mfa_updated_at -> Nullable<Timestamptz>,
        sign_in_methods -> Array<Nullable<Text>>,
        sign_in_version -> Int8,
        sign_in_updated_at -> Nullable<Timestamptz>,
        ip_allowlist -> Array<Nullable<Cidr>>,
        max_session_age_secs -> Nullable<Int4>,
        mfa_max_age_secs -> Nullable<Int4>,
        security_version -> Int8,
        security_updated_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    organizations (id) {
        id -> Uuid,
        name -> Text,
        slug -> Text,
        domain -> Nullable<Text>,
        logo_url -> Nullable<Text>,
        timezone -> Nullable<Text>,
        address -> Nullable<Jsonb>,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        plan -> Text,
        feature_overrides -> Jsonb,
    }
}

diesel::table! {
    outbox_emails (id) {
        id -> Uuid,
        org_id -> Nullable<Uuid>,
        recipient -> Text,
        subject -> Text,
        text_body -> Text,
        html_body -> Text,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    platform_audit_events (seq) {
        seq -> Int8,
        id -> Uuid,
        actor_type -> Text,
        actor_id -> Text,
        action -> Text,
        org_id -> Nullable<Uuid>,
        target_type -> Text,
        target_id -> Text,
        changes -> Jsonb,
        request_id -> Nullable<Text>,
        client_ip -> Nullable<Inet>,
        user_agent -> Nullable<Text>,
        occurred_at -> Timestamptz,
    }
}

diesel::table! {
    roles (org_id, id) {
        id -> Uuid,
        org_id -> Uuid,
        key -> Text,
        name -> Text,
        description -> Nullable<Text>,
        permissions -> Array<Nullable<Text>>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int8,
    }
}

diesel::table! {
    scim_configs (org_id) {
        org_id -> Uuid,
        enabled -> Bool,
        token_hash -> Nullable<Bytea>,
        token_hint -> Nullable<Text>,
        token_created_at -> Nullable<Timestamptz>,
        version -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    scim_group_roles (org_id, team_id) {
        org_id -> Uuid,
        team_id -> Uuid,
        role -> Text,
        set_by -> Uuid,
        position -> Int4,
    }
}

diesel::table! {
    scim_users (org_id, member_id) {
        member_id -> Uuid,
        org_id -> Uuid,
        user_name -> Text,
        external_id -> Nullable<Text>,
        attributes -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    spend_alerts (org_id, budget_window, window_start, level) {
        org_id -> Uuid,
        budget_window -> Text,
        window_start -> Date,
        level -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    spend_days (org_id, day, shard) {
        org_id -> Uuid,
        day -> Date,
        shard -> Int2,
        amount_micros -> Int8,
    }
}

diesel::table! {
    spend_limits (org_id) {
        org_id -> Uuid,
        currency -> Text,
        budget_window -> Text,
        budget_micros -> Nullable<Int8>,
        warning_percent -> Int4,
        max_overage_micros -> Int8,
        version -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    sso_configs (org_id) {
        org_id -> Uuid,
        enabled -> Bool,
        enforced -> Bool,
        protocol -> Nullable<Text>,
        saml_idp_entity_id -> Nullable<Text>,
        saml_sso_url -> Nullable<Text>,
        saml_certificate_pem -> Nullable<Text>,
        oidc_issuer -> Nullable<Text>,
        oidc_client_id -> Nullable<Text>,
        oidc_client_secret -> Nullable<Bytea>,
        oidc_client_secret_key_id -> Nullable<Text>,
        oidc_client_secret_last4 -> Nullable<Text>,
        version -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    team_members (org_id, team_id, member_id) {
        team_id -> Uuid,
        member_id -> Uuid,
        is_manager -> Bool,
        created_at -> Timestamptz,
        org_id -> Uuid,
    }
}

diesel::table! {
    teams (org_id, id) {
        id -> Uuid,
        org_id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        external_id -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int8,
    }
}

diesel::table! {
    usage_events (org_id, id) {
        id -> Uuid,
        org_id -> Uuid,
        idempotency_key -> Text,
        amount_micros -> Int8,
        model -> Nullable<Text>,
        feature -> Nullable<Text>,
        occurred_at -> Timestamptz,
        local_day -> Date,
        recorded_at -> Timestamptz,
        recorded_by_type -> Text,
        recorded_by_id -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        subject -> Nullable<Text>,
        email -> Nullable<Text>,
        email_verified -> Bool,
        name -> Nullable<Text>,
        mfa_enrolled -> Bool,
        last_sign_in_method -> Nullable<Text>,
        search_text -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        mfa_methods -> Array<Nullable<Text>>,
        last_seen_at -> Nullable<Timestamptz>,
        last_ip -> Nullable<Inet>,
    }
}

diesel::table! {
    verified_domains (domain) {
        domain -> Text,
        org_id -> Uuid,
        domain_id -> Uuid,
    }
}

diesel::table! {
    webhook_deliveries (org_id, id) {
        id -> Uuid,
        webhook_id -> Uuid,
        org_id -> Uuid,
        event_id -> Uuid,
        event_type -> Text,
        event_seq -> Int8,
        status -> Text,
        attempts -> Jsonb,
        next_attempt_at -> Nullable<Timestamptz>,
        retry_started_at -> Nullable<Timestamptz>,
        retries -> Int4,
        leased_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    webhooks (org_id, id) {
        id -> Uuid,
        org_id -> Uuid,
        url -> Text,
        event_types -> Array<Nullable<Text>>,
        description -> Nullable<Text>,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        secret_key_id -> Text,
        secret -> Bytea,
        previous_secret_key_id -> Nullable<Text>,
        previous_secret -> Nullable<Bytea>,
        previous_secret_until -> Nullable<Timestamptz>,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(api_keys -> organizations (org_id));
diesel::joinable!(audit_chain_heads -> organizations (org_id));
diesel::joinable!(audit_events -> organizations (org_id));
diesel::joinable!(events -> organizations (org_id));
diesel::joinable!(invite_redemptions -> users (user_id));
diesel::joinable!(invites -> organizations (org_id));
diesel::joinable!(join_requests -> organizations (org_id));
diesel::joinable!(llm_policies -> organizations (org_id));
diesel::joinable!(memberships -> organizations (org_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(notifications -> organizations (org_id));
diesel::joinable!(notifications -> users (user_id));
diesel::joinable!(org_domains -> organizations (org_id));
diesel::joinable!(org_domains -> users (join_role_set_by));
diesel::joinable!(org_member_stats -> organizations (org_id));
diesel::joinable!(org_policies -> organizations (org_id));
diesel::joinable!(outbox_emails -> organizations (org_id));
diesel::joinable!(platform_audit_events -> organizations (org_id));
diesel::joinable!(roles -> organizations (org_id));
diesel::joinable!(scim_configs -> organizations (org_id));
diesel::joinable!(scim_group_roles -> organizations (org_id));
diesel::joinable!(scim_group_roles -> users (set_by));
diesel::joinable!(scim_users -> organizations (org_id));
diesel::joinable!(spend_alerts -> organizations (org_id));
diesel::joinable!(spend_days -> organizations (org_id));
diesel::joinable!(spend_limits -> organizations (org_id));
diesel::joinable!(sso_configs -> organizations (org_id));
diesel::joinable!(teams -> organizations (org_id));
diesel::joinable!(usage_events -> organizations (org_id));
diesel::joinable!(verified_domains -> organizations (org_id));
diesel::joinable!(webhooks -> organizations (org_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_keys,
    audit_chain_heads,
    audit_events,
    events,
    idempotency_records,
    invite_redemptions,
    invites,
    join_requests,
    llm_policies,
    memberships,
    notifications,
    org_domains,
    org_member_stats,
    org_policies,
    organizations,
    outbox_emails,
    platform_audit_events,
    roles,
    scim_configs,
    scim_group_roles,
    scim_users,
    spend_alerts,
    spend_days,
    spend_limits,
    sso_configs,
    team_members,
    teams,
    usage_events,
    users,
    verified_domains,
    webhook_deliveries,
    webhooks,
);
