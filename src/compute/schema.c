/* The compute module's tables. Migrations are append-only: never edit one
 * that has shipped, add the next number. Times are epoch microseconds in
 * BIGINT columns (no time-zone ambiguity between hosts). Servers carry a
 * copy of their flavor, as Nova's instance_extra does, so deleting a flavor
 * never changes a server. `deleted` is 0 for live rows and the row id once
 * soft-deleted, so unique keys ignore deleted rows. */
#include "compute.h"

#define TBL " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"

static const char *const compute_v1[] = {
    "CREATE TABLE IF NOT EXISTS compute_flavors ("
    " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " flavorid VARCHAR(255) NOT NULL,"
    " name VARCHAR(255) NOT NULL,"
    " memory_mb INT NOT NULL, vcpus INT NOT NULL, root_gb INT NOT NULL,"
    " ephemeral_gb INT NOT NULL DEFAULT 0, swap INT NOT NULL DEFAULT 0,"
    " rxtx_factor DOUBLE NOT NULL DEFAULT 1.0,"
    " is_public TINYINT NOT NULL DEFAULT 1, disabled TINYINT NOT NULL DEFAULT 0,"
    " description TEXT,"
    " created_at BIGINT NOT NULL, updated_at BIGINT,"
    " UNIQUE KEY uq_flavors_flavorid (flavorid),"
    " UNIQUE KEY uq_flavors_name (name)"
    ")" TBL,
    "CREATE TABLE IF NOT EXISTS compute_flavor_extra_specs ("
    " flavor_id BIGINT NOT NULL, spec_key VARCHAR(255) NOT NULL,"
    " spec_value VARCHAR(255) NOT NULL,"
    " PRIMARY KEY (flavor_id, spec_key)"
    ")" TBL,
    "CREATE TABLE IF NOT EXISTS compute_flavor_projects ("
    " flavor_id BIGINT NOT NULL, project_id VARCHAR(255) NOT NULL,"
    " PRIMARY KEY (flavor_id, project_id), KEY ix_flavor_projects_project (project_id)"
    ")" TBL,
    "CREATE TABLE IF NOT EXISTS compute_keypairs ("
    " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " user_id VARCHAR(255) NOT NULL, name VARCHAR(255) NOT NULL,"
    " fingerprint VARCHAR(255) NOT NULL, public_key MEDIUMTEXT NOT NULL,"
    " type VARCHAR(8) NOT NULL DEFAULT 'ssh',"
    " created_at BIGINT NOT NULL,"
    " UNIQUE KEY uq_keypairs_user_name (user_id, name)"
    ")" TBL,
    "CREATE TABLE IF NOT EXISTS compute_quotas ("
    " project_id VARCHAR(255) NOT NULL, resource VARCHAR(64) NOT NULL,"
    " hard_limit BIGINT NOT NULL,"
    " PRIMARY KEY (project_id, resource)"
    ")" TBL,
    /* One row per project, locked FOR UPDATE while a create counts usage,
     * so two concurrent creates cannot both pass the quota check. */
    "CREATE TABLE IF NOT EXISTS compute_project_locks ("
    " project_id VARCHAR(255) NOT NULL PRIMARY KEY"
    ")" TBL,
    "CREATE TABLE IF NOT EXISTS compute_services ("
    " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " host VARCHAR(255) NOT NULL, `binary` VARCHAR(64) NOT NULL,"
    " topic VARCHAR(64) NOT NULL, zone VARCHAR(255) NOT NULL DEFAULT 'nova',"
    " disabled TINYINT NOT NULL DEFAULT 0, disabled_reason VARCHAR(255),"
    " forced_down TINYINT NOT NULL DEFAULT 0,"
    " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
    " UNIQUE KEY uq_services_host_binary (host, `binary`)"
    ")" TBL,
    "CREATE TABLE IF NOT EXISTS compute_nodes ("
    " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " host VARCHAR(255) NOT NULL, hypervisor_hostname VARCHAR(255) NOT NULL,"
    " hypervisor_type VARCHAR(64) NOT NULL, hypervisor_version BIGINT NOT NULL,"
    " vcpus INT NOT NULL, memory_mb BIGINT NOT NULL, local_gb BIGINT NOT NULL,"
    " host_ip VARCHAR(64) NOT NULL DEFAULT '', cpu_info TEXT,"
    " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
    " UNIQUE KEY uq_nodes_host (host)"
    ")" TBL,
    "CREATE TABLE IF NOT EXISTS compute_instances ("
    " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " uuid CHAR(36) NOT NULL,"
    " project_id VARCHAR(255) NOT NULL, user_id VARCHAR(255) NOT NULL,"
    " display_name VARCHAR(255) NOT NULL, display_description TEXT,"
    " hostname VARCHAR(255) NOT NULL,"
    " image_ref VARCHAR(255) NOT NULL DEFAULT '',"
    " flavorid VARCHAR(255) NOT NULL, flavor_name VARCHAR(255) NOT NULL,"
    " memory_mb INT NOT NULL, vcpus INT NOT NULL, root_gb INT NOT NULL,"
    " ephemeral_gb INT NOT NULL, swap INT NOT NULL,"
    " flavor_extra MEDIUMTEXT,"                 /* the flavor's extra specs, JSON */
    " old_flavor MEDIUMTEXT,"                   /* during resize, JSON */
    " key_name VARCHAR(255), key_data MEDIUMTEXT,"
    " user_data MEDIUMTEXT,"
    " vm_state VARCHAR(16) NOT NULL, task_state VARCHAR(32),"
    " power_state INT NOT NULL DEFAULT 0,"
    " host VARCHAR(255), node VARCHAR(255),"
    " availability_zone VARCHAR(255),"
    " requested_az VARCHAR(255),"
    " config_drive VARCHAR(16) NOT NULL DEFAULT '',"
    " access_ip_v4 VARCHAR(64), access_ip_v6 VARCHAR(64),"
    " progress INT NOT NULL DEFAULT 0,"
    " locked TINYINT NOT NULL DEFAULT 0, locked_by VARCHAR(16),"
    " reservation_id VARCHAR(32) NOT NULL, launch_index INT NOT NULL DEFAULT 0,"
    " server_group VARCHAR(36),"
    " fault_code INT, fault_message TEXT, fault_details MEDIUMTEXT, fault_created BIGINT,"
    " launched_at BIGINT, terminated_at BIGINT,"
    " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, deleted_at BIGINT,"
    " deleted BIGINT NOT NULL DEFAULT 0,"
    " UNIQUE KEY uq_instances_uuid (uuid),"
    " KEY ix_instances_project (project_id, deleted, created_at, id),"
    " KEY ix_instances_list (deleted, created_at, id),"
    " KEY ix_instances_host (host, deleted),"
    " KEY ix_instances_updated (updated_at)"
    ")" TBL,
    "CREATE TABLE IF NOT EXISTS compute_instance_metadata ("
    " instance_uuid CHAR(36) NOT NULL, meta_key VARCHAR(255) NOT NULL,"
    " meta_value VARCHAR(255) NOT NULL,"
    " PRIMARY KEY (instance_uuid, meta_key)"
    ")" TBL,
    "CREATE TABLE IF NOT EXISTS compute_instance_tags ("
    " instance_uuid CHAR(36) NOT NULL, tag VARCHAR(80) NOT NULL,"
    " PRIMARY KEY (instance_uuid, tag), KEY ix_tags_tag (tag)"
    ")" TBL,
    "CREATE TABLE IF NOT EXISTS compute_instance_actions ("
    " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " instance_uuid CHAR(36) NOT NULL, action VARCHAR(64) NOT NULL,"
    " request_id VARCHAR(64) NOT NULL, project_id VARCHAR(255) NOT NULL,"
    " user_id VARCHAR(255) NOT NULL, message VARCHAR(255),"
    " start_time BIGINT NOT NULL, finish_time BIGINT, updated_at BIGINT NOT NULL,"
    " KEY ix_actions_instance (instance_uuid, start_time),"
    " KEY ix_actions_request (instance_uuid, request_id)"
    ")" TBL,
    "CREATE TABLE IF NOT EXISTS compute_instance_action_events ("
    " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " action_id BIGINT NOT NULL, event VARCHAR(64) NOT NULL,"
    " start_time BIGINT NOT NULL, finish_time BIGINT,"
    " result VARCHAR(16), traceback TEXT, host VARCHAR(255),"
    " KEY ix_events_action (action_id)"
    ")" TBL,
    "CREATE TABLE IF NOT EXISTS compute_server_groups ("
    " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " uuid CHAR(36) NOT NULL, name VARCHAR(255) NOT NULL,"
    " project_id VARCHAR(255) NOT NULL, user_id VARCHAR(255) NOT NULL,"
    " policy VARCHAR(32) NOT NULL, max_server_per_host INT,"
    " created_at BIGINT NOT NULL,"
    " UNIQUE KEY uq_server_groups_uuid (uuid), KEY ix_server_groups_project (project_id)"
    ")" TBL,
    "CREATE TABLE IF NOT EXISTS compute_server_group_members ("
    " group_uuid CHAR(36) NOT NULL, instance_uuid CHAR(36) NOT NULL,"
    " PRIMARY KEY (group_uuid, instance_uuid), KEY ix_sg_members_instance (instance_uuid)"
    ")" TBL,
    "CREATE TABLE IF NOT EXISTS compute_aggregates ("
    " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " uuid CHAR(36) NOT NULL, name VARCHAR(255) NOT NULL,"
    " availability_zone VARCHAR(255),"
    " created_at BIGINT NOT NULL, updated_at BIGINT, deleted BIGINT NOT NULL DEFAULT 0,"
    " UNIQUE KEY uq_aggregates_name (name, deleted)"
    ")" TBL,
    "CREATE TABLE IF NOT EXISTS compute_aggregate_hosts ("
    " aggregate_id BIGINT NOT NULL, host VARCHAR(255) NOT NULL,"
    " PRIMARY KEY (aggregate_id, host)"
    ")" TBL,
    "CREATE TABLE IF NOT EXISTS compute_aggregate_metadata ("
    " aggregate_id BIGINT NOT NULL, meta_key VARCHAR(255) NOT NULL,"
    " meta_value VARCHAR(255) NOT NULL,"
    " PRIMARY KEY (aggregate_id, meta_key)"
    ")" TBL,
    NULL,
};

/* Shelving keeps the server's disk as an image; the row remembers which. */
static const char *const compute_v2[] = {
    "ALTER TABLE compute_instances ADD COLUMN IF NOT EXISTS shelved_image_id CHAR(36)",
    /* "shelved_offloaded" is 17 characters. */
    "ALTER TABLE compute_instances MODIFY vm_state VARCHAR(32) NOT NULL",
    NULL,
};

/* Microversion 2.53 names services and hypervisors by uuid; quota classes
 * (os-quota-class-sets) hold the "default" class that overrides the
 * configured default limits, as Nova's quota_classes table does. */
static const char *const compute_v3[] = {
    "ALTER TABLE compute_services ADD COLUMN IF NOT EXISTS uuid CHAR(36)",
    "UPDATE compute_services SET uuid = UUID() WHERE uuid IS NULL",
    "ALTER TABLE compute_nodes ADD COLUMN IF NOT EXISTS uuid CHAR(36)",
    "UPDATE compute_nodes SET uuid = UUID() WHERE uuid IS NULL",
    "CREATE TABLE IF NOT EXISTS compute_quota_classes ("
    " class_name VARCHAR(255) NOT NULL, resource VARCHAR(64) NOT NULL,"
    " hard_limit BIGINT NOT NULL,"
    " PRIMARY KEY (class_name, resource)"
    ")" TBL,
    NULL,
};

/* Microversions: the reason given with a lock (2.73) and the trusted image
 * certificate ids asked for at create or rebuild (2.63, a JSON array). */
static const char *const compute_v4[] = {
    "ALTER TABLE compute_instances ADD COLUMN IF NOT EXISTS locked_reason VARCHAR(255)",
    "ALTER TABLE compute_instances ADD COLUMN IF NOT EXISTS trusted_certs TEXT",
    NULL,
};

/* Create parameters: the security groups a server asked for (by name, in
 * request order, until the network module's ports carry them) and its
 * block device mappings, as Nova's block_device_mapping table holds them. */
static const char *const compute_v5[] = {
    "CREATE TABLE IF NOT EXISTS compute_instance_security_groups ("
    " instance_uuid CHAR(36) NOT NULL, position INT NOT NULL,"
    " name VARCHAR(255) NOT NULL,"
    " PRIMARY KEY (instance_uuid, position)"
    ")" TBL,
    "CREATE TABLE IF NOT EXISTS compute_block_device_mappings ("
    " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " instance_uuid CHAR(36) NOT NULL,"
    " source_type VARCHAR(16), destination_type VARCHAR(16),"
    " device_name VARCHAR(255), boot_index INT,"
    " image_id CHAR(36), volume_id CHAR(36), snapshot_id CHAR(36),"
    " volume_size INT, guest_format VARCHAR(255), device_type VARCHAR(255),"
    " disk_bus VARCHAR(255), volume_type VARCHAR(255),"
    " delete_on_termination TINYINT NOT NULL DEFAULT 0,"
    " no_device TINYINT NOT NULL DEFAULT 0, tag VARCHAR(60),"
    " attachment_id CHAR(36), connection_info MEDIUMTEXT,"
    " created_at BIGINT NOT NULL, deleted BIGINT NOT NULL DEFAULT 0,"
    " KEY ix_bdm_instance (instance_uuid, deleted)"
    ")" TBL,
    NULL,
};

/* OS-DCF:diskConfig (AUTO or MANUAL, set by create, update, rebuild and
 * resize). */
static const char *const compute_v6[] = {
    "ALTER TABLE compute_instances ADD COLUMN IF NOT EXISTS auto_disk_config TINYINT NOT NULL"
    " DEFAULT 0",
    NULL,
};

/* 2.84: the message of a failed instance action event ("details"). */
static const char *const compute_v7[] = {
    "ALTER TABLE compute_instance_action_events ADD COLUMN IF NOT EXISTS details TEXT",
    NULL,
};

const ms_migration compute_migrations[] = {
    {1, compute_v1},
    {2, compute_v2},
    {3, compute_v3},
    {4, compute_v4},
    {5, compute_v5},
    {6, compute_v6},
    {7, compute_v7},
    {0, NULL},
};
