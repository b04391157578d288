/* The image module descriptor and its route table: the Glance v2 API
 * monostack serves. Reads need a reader role, changes a member role (the
 * router checks); handlers then apply Glance's ownership and visibility
 * rules to the image itself. PUT /file and PUT /stage stream their bodies. */
#include "image.h"

#include <errno.h>
#include <unistd.h>

#define R(m, p, h, pol, n) {.methods = (m), .path = (p), .handler = (h), .policy = (pol), .name = (n)}
#define S(m, p, ops, pol, n) {.methods = (m), .path = (p), .stream = (ops), .policy = (pol), .name = (n)}
#define GET_HEAD (MS_GET | MS_HEAD)

static const ms_route image_routes[] = {
    R(GET_HEAD, "/", image_versions, MS_POL_PUBLIC, "versions"),
    R(GET_HEAD, "/versions", image_versions_explicit, MS_POL_PUBLIC, "versions"),
    R(GET_HEAD, "/v2", image_versions, MS_POL_PUBLIC, "versions"),
    R(GET_HEAD, "/v2/", image_versions, MS_POL_PUBLIC, "versions"),

    R(GET_HEAD, "/v2/schemas/image", image_schema_image, MS_POL_ANY, "schema_image"),
    R(GET_HEAD, "/v2/schemas/images", image_schema_images, MS_POL_ANY, "schema_images"),
    R(GET_HEAD, "/v2/schemas/member", image_schema_member, MS_POL_ANY, "schema_member"),
    R(GET_HEAD, "/v2/schemas/members", image_schema_members, MS_POL_ANY, "schema_members"),
    R(GET_HEAD, "/v2/info/import", image_info_import, MS_POL_ANY, "info_import"),
    R(GET_HEAD, "/v2/info/stores", image_info_stores, MS_POL_ANY, "info_stores"),

    R(GET_HEAD, "/v2/images", image_list, MS_POL_READER, "get_images"),
    R(MS_POST, "/v2/images", image_create, MS_POL_MEMBER, "add_image"),
    R(GET_HEAD, "/v2/images/{image_id}", image_show, MS_POL_READER, "get_image"),
    R(MS_PATCH, "/v2/images/{image_id}", image_update, MS_POL_MEMBER, "modify_image"),
    R(MS_DELETE, "/v2/images/{image_id}", image_delete, MS_POL_MEMBER, "delete_image"),
    R(MS_POST, "/v2/images/{image_id}/actions/deactivate", image_deactivate, MS_POL_MEMBER,
      "deactivate"),
    R(MS_POST, "/v2/images/{image_id}/actions/reactivate", image_reactivate, MS_POL_MEMBER,
      "reactivate"),
    R(MS_PUT, "/v2/images/{image_id}/tags/{tag_value}", image_tag_put, MS_POL_MEMBER,
      "add_tag"),
    R(MS_DELETE, "/v2/images/{image_id}/tags/{tag_value}", image_tag_delete, MS_POL_MEMBER,
      "delete_tag"),

    R(MS_GET, "/v2/images/{image_id}/file", image_download, MS_POL_READER, "download_image"),
    S(MS_PUT, "/v2/images/{image_id}/file", &image_upload_ops, MS_POL_MEMBER, "upload_image"),
    S(MS_PUT, "/v2/images/{image_id}/stage", &image_stage_ops, MS_POL_MEMBER, "stage_image"),
    R(MS_POST, "/v2/images/{image_id}/import", image_import, MS_POL_MEMBER, "import_image"),
    R(GET_HEAD, "/v2/images/{image_id}/tasks", image_tasks, MS_POL_READER, "get_image_tasks"),

    R(GET_HEAD, "/v2/images/{image_id}/members", image_members_list, MS_POL_READER,
      "get_members"),
    R(MS_POST, "/v2/images/{image_id}/members", image_member_create, MS_POL_MEMBER,
      "add_member"),
    R(GET_HEAD, "/v2/images/{image_id}/members/{member_id}", image_member_show, MS_POL_READER,
      "get_member"),
    R(MS_PUT, "/v2/images/{image_id}/members/{member_id}", image_member_update, MS_POL_MEMBER,
      "modify_member"),
    R(MS_DELETE, "/v2/images/{image_id}/members/{member_id}", image_member_delete,
      MS_POL_MEMBER, "delete_member"),
};

/* After a crash: no temporary files, no image stuck in saving. */
static int
image_init(void)
{
    char *err = NULL;
    int rc = image_store_init(&err);
    if (rc < 0) {
        ms_error("%s", err);
        free(err);
        return rc;
    }
    image_store_sweep();
    long long reset = 0;
    rc = image_db_reset_stuck(&reset);
    if (rc < 0) {
        ms_error("image: cannot reset interrupted uploads (%d)", rc);
        return rc;
    }
    if (reset)
        ms_warn("image: %lld interrupted upload(s) returned to queued", reset);
    /* An import stopped between its steps: the data is either still staged
     * (back to uploading, import again) or already in the store (active). */
    char **ids = NULL;
    size_t n = 0;
    rc = image_db_ids_in_status("importing", &ids, &n);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        char *path = image_store_path(ids[i]);
        bool stored = access(path, F_OK) == 0;
        free(path);
        image_db_transition(ids[i], "importing", stored ? "active" : "uploading");
        ms_warn("image=%s interrupted import finished as %s", ids[i],
                stored ? "active" : "uploading");
        free(ids[i]);
    }
    free(ids);
    return 0;
}

const ms_module image_module = {
    .name = "image",
    .service_type = "image",
    .default_port = 9292,
    .request_id_header = "x-openstack-request-id",
    .error = ms_error_webob,
    .routes = image_routes,
    .nroutes = MS_ARRAY_LEN(image_routes),
    .migrations = image_migrations,
    .init = image_init,
    .catalog_path = "",
    .keep_trailing_slash = true,
};
