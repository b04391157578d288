/* Identity tables, as numbered migrations (applied by `monostack-manage db sync`).
 * Append new migrations; never edit one that has shipped. */
#include "identity.h"

static const char *const v1[] = {
    "CREATE TABLE IF NOT EXISTS id_domains ("
    " id VARCHAR(64) NOT NULL PRIMARY KEY,"
    " name VARCHAR(255) NOT NULL,"
    " description TEXT,"
    " enabled TINYINT(1) NOT NULL DEFAULT 1,"
    " extra TEXT,"
    " created_at DATETIME(6) NOT NULL,"
    " UNIQUE KEY uq_domain_name (name)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",

    "CREATE TABLE IF NOT EXISTS id_projects ("
    " id VARCHAR(64) NOT NULL PRIMARY KEY,"
    " name VARCHAR(255) NOT NULL,"
    " domain_id VARCHAR(64) NOT NULL,"
    " parent_id VARCHAR(64),"
    " description TEXT,"
    " enabled TINYINT(1) NOT NULL DEFAULT 1,"
    " is_domain TINYINT(1) NOT NULL DEFAULT 0,"
    " extra TEXT,"
    " created_at DATETIME(6) NOT NULL,"
    " UNIQUE KEY uq_project_name (domain_id, name),"
    " KEY ix_project_parent (parent_id)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",

    "CREATE TABLE IF NOT EXISTS id_project_tags ("
    " project_id VARCHAR(64) NOT NULL,"
    " tag VARCHAR(255) NOT NULL,"
    " PRIMARY KEY (project_id, tag)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",

    "CREATE TABLE IF NOT EXISTS id_users ("
    " id VARCHAR(64) NOT NULL PRIMARY KEY,"
    " name VARCHAR(255) NOT NULL,"
    " domain_id VARCHAR(64) NOT NULL,"
    " enabled TINYINT(1) NOT NULL DEFAULT 1,"
    " default_project_id VARCHAR(64),"
    " description TEXT,"
    " email VARCHAR(255),"
    " password_hash VARCHAR(255),"         /* NULL: no password set */
    " password_created_at DATETIME(6),"
    " password_expires_at DATETIME(6),"
    " options TEXT,"                       /* JSON object */
    " extra TEXT,"                         /* JSON object of other attributes */
    " created_at DATETIME(6) NOT NULL,"
    " last_active_at DATETIME(6),"
    " UNIQUE KEY uq_user_name (domain_id, name)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",

    "CREATE TABLE IF NOT EXISTS id_groups ("
    " id VARCHAR(64) NOT NULL PRIMARY KEY,"
    " name VARCHAR(255) NOT NULL,"
    " domain_id VARCHAR(64) NOT NULL,"
    " description TEXT,"
    " extra TEXT,"
    " created_at DATETIME(6) NOT NULL,"
    " UNIQUE KEY uq_group_name (domain_id, name)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",

    "CREATE TABLE IF NOT EXISTS id_user_groups ("
    " user_id VARCHAR(64) NOT NULL,"
    " group_id VARCHAR(64) NOT NULL,"
    " PRIMARY KEY (user_id, group_id),"
    " KEY ix_ug_group (group_id)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",

    /* domain_id '' marks a global role, so the unique key works without NULLs. */
    "CREATE TABLE IF NOT EXISTS id_roles ("
    " id VARCHAR(64) NOT NULL PRIMARY KEY,"
    " name VARCHAR(255) NOT NULL,"
    " domain_id VARCHAR(64) NOT NULL DEFAULT '',"
    " description TEXT,"
    " options TEXT,"
    " extra TEXT,"
    " created_at DATETIME(6) NOT NULL,"
    " UNIQUE KEY uq_role_name (domain_id, name)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",

    "CREATE TABLE IF NOT EXISTS id_implied_roles ("
    " prior_role_id VARCHAR(64) NOT NULL,"
    " implied_role_id VARCHAR(64) NOT NULL,"
    " PRIMARY KEY (prior_role_id, implied_role_id)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",

    /* type: UserProject, GroupProject, UserDomain, GroupDomain, UserSystem,
     * GroupSystem (target_id 'system' for the last two). */
    "CREATE TABLE IF NOT EXISTS id_assignments ("
    " type VARCHAR(16) NOT NULL,"
    " actor_id VARCHAR(64) NOT NULL,"
    " target_id VARCHAR(64) NOT NULL,"
    " role_id VARCHAR(64) NOT NULL,"
    " inherited TINYINT(1) NOT NULL DEFAULT 0,"
    " PRIMARY KEY (type, actor_id, target_id, role_id, inherited),"
    " KEY ix_asg_actor (actor_id),"
    " KEY ix_asg_target (target_id),"
    " KEY ix_asg_role (role_id)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",

    "CREATE TABLE IF NOT EXISTS id_regions ("
    " id VARCHAR(255) NOT NULL PRIMARY KEY,"
    " description TEXT,"
    " parent_region_id VARCHAR(255),"
    " extra TEXT"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",

    "CREATE TABLE IF NOT EXISTS id_services ("
    " id VARCHAR(64) NOT NULL PRIMARY KEY,"
    " type VARCHAR(255) NOT NULL,"
    " name VARCHAR(255),"
    " description TEXT,"
    " enabled TINYINT(1) NOT NULL DEFAULT 1,"
    " extra TEXT,"
    " KEY ix_service_type (type)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",

    "CREATE TABLE IF NOT EXISTS id_endpoints ("
    " id VARCHAR(64) NOT NULL PRIMARY KEY,"
    " service_id VARCHAR(64) NOT NULL,"
    " region_id VARCHAR(255),"
    " interface VARCHAR(8) NOT NULL,"
    " url TEXT NOT NULL,"
    " enabled TINYINT(1) NOT NULL DEFAULT 1,"
    " extra TEXT,"
    " KEY ix_endpoint_service (service_id)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",

    "CREATE TABLE IF NOT EXISTS id_app_creds ("
    " id VARCHAR(64) NOT NULL PRIMARY KEY,"
    " name VARCHAR(255) NOT NULL,"
    " user_id VARCHAR(64) NOT NULL,"
    " project_id VARCHAR(64),"
    " system VARCHAR(16),"
    " description TEXT,"
    " secret_hash VARCHAR(255) NOT NULL,"
    " expires_at DATETIME(6),"
    " unrestricted TINYINT(1) NOT NULL DEFAULT 0,"
    " access_rules TEXT,"
    " created_at DATETIME(6) NOT NULL,"
    " UNIQUE KEY uq_appcred_name (user_id, name)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",

    "CREATE TABLE IF NOT EXISTS id_app_cred_roles ("
    " app_cred_id VARCHAR(64) NOT NULL,"
    " role_id VARCHAR(64) NOT NULL,"
    " PRIMARY KEY (app_cred_id, role_id)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",

    /* Revocation events, as Keystone's: a token matches an event when every
     * non-NULL column matches and it was issued before issued_before. */
    "CREATE TABLE IF NOT EXISTS id_revocations ("
    " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " audit_id VARCHAR(32),"
    " audit_chain_id VARCHAR(32),"
    " user_id VARCHAR(64),"
    " project_id VARCHAR(64),"
    " domain_id VARCHAR(64),"
    " role_id VARCHAR(64),"
    " issued_before DATETIME(6) NOT NULL,"
    " revoked_at DATETIME(6) NOT NULL,"
    " expires_at DATETIME(6),"
    " KEY ix_rev_revoked (revoked_at)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    NULL,
};

const ms_migration identity_migrations[] = {
    {1, v1},
    {0, NULL},
};
