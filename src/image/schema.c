/* Image tables, as numbered migrations (applied by `monostack-manage db sync`).
 * Append new migrations; never edit one that has shipped.
 *
 * Times are epoch microseconds (BIGINT) so keyset pagination compares plain
 * integers. Deleted images stay as rows (deleted = 1) so their ids are never
 * reused, as in Glance. Nullable sort columns are sorted through COALESCE
 * in images_db.c; the (deleted, created_at, id) index serves the default
 * listing order. */
#include "image.h"

static const char *const v1[] = {
    "CREATE TABLE IF NOT EXISTS images ("
    " id CHAR(36) NOT NULL PRIMARY KEY,"
    " name VARCHAR(255),"
    " status VARCHAR(16) NOT NULL,"
    " visibility VARCHAR(12) NOT NULL,"
    " protected TINYINT(1) NOT NULL DEFAULT 0,"
    " os_hidden TINYINT(1) NOT NULL DEFAULT 0,"
    " owner VARCHAR(255),"
    " disk_format VARCHAR(16),"
    " container_format VARCHAR(16),"
    " size BIGINT,"
    " virtual_size BIGINT,"
    " checksum VARCHAR(32),"
    " os_hash_algo VARCHAR(64),"
    " os_hash_value VARCHAR(128),"
    " min_disk BIGINT NOT NULL DEFAULT 0,"
    " min_ram BIGINT NOT NULL DEFAULT 0,"
    " detected_format VARCHAR(16),"
    " created_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL,"
    " deleted TINYINT(1) NOT NULL DEFAULT 0,"
    " deleted_at BIGINT,"
    " KEY ix_images_created (deleted, created_at, id),"
    " KEY ix_images_updated (deleted, updated_at, id),"
    " KEY ix_images_owner (owner, deleted),"
    " KEY ix_images_visibility (visibility, deleted),"
    " KEY ix_images_name (name),"
    " KEY ix_images_status (status),"
    " KEY ix_images_checksum (checksum)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",

    "CREATE TABLE IF NOT EXISTS image_properties ("
    " image_id CHAR(36) NOT NULL,"
    " name VARCHAR(255) NOT NULL,"
    " value TEXT,"
    " PRIMARY KEY (image_id, name),"
    " KEY ix_image_properties_name (name(64), value(64))"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",

    "CREATE TABLE IF NOT EXISTS image_tags ("
    " image_id CHAR(36) NOT NULL,"
    " tag VARCHAR(255) NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " PRIMARY KEY (image_id, tag),"
    " KEY ix_image_tags_tag (tag)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",

    "CREATE TABLE IF NOT EXISTS image_members ("
    " image_id CHAR(36) NOT NULL,"
    " member VARCHAR(255) NOT NULL,"
    " status VARCHAR(12) NOT NULL DEFAULT 'pending',"
    " created_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL,"
    " PRIMARY KEY (image_id, member),"
    " KEY ix_image_members_member (member, status)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    NULL,
};

const ms_migration image_migrations[] = {
    {1, v1},
    {0, NULL},
};
