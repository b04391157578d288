/* The interoperable image import flow: data staged by PUT /stage (data.c)
 * is imported with POST /import {"method": {"name": "glance-direct"}}.
 *
 * Staging already hashed and inspected the data while it streamed in, so
 * the import itself is a format check plus a rename inside the store: it
 * is done before answering 202, and the image goes uploading -> importing
 * -> active without a worker. /v2/info/import and /v2/info/stores describe
 * what this site offers. */
#include "image.h"

#include <errno.h>
#include <string.h>

#include <monostack/config.h>
#include <monostack/json.h>

int
image_info_import(ms_request *req, ms_response *resp)
{
    (void)req;
    json_t *body = json_pack("{s:{s:s,s:s,s:[s]}}", "import-methods", "description",
                             "Import methods available.", "type", "array", "value",
                             "glance-direct");
    ms_resp_json(resp, 200, body);
    return 0;
}

int
image_info_stores(ms_request *req, ms_response *resp)
{
    (void)req;
    /* Glance answers 404 here unless multiple stores are enabled; we answer
     * as a Glance with one enabled backend, "file" (the default is the
     * string "true" there), and images with data name it in "stores". */
    json_t *body = json_pack("{s:[{s:s,s:s,s:s}]}", "stores", "id", IMAGE_STORE_ID,
                             "description", "Local filesystem store", "default", "true");
    ms_resp_json(resp, 200, body);
    return 0;
}

int
image_tasks(ms_request *req, ms_response *resp)
{
    image_autoptr img = NULL;
    int rc = image_lookup(req, resp, ms_req_param(req, "image_id"), &img);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    ms_resp_json(resp, 200, json_pack("{s:[]}", "tasks"));
    return 0;
}

int
image_import(ms_request *req, ms_response *resp)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    json_t *method = json_object_get(body, "method");
    if (!method) {
        ms_resp_error(resp, 400, "Import request requires a 'method' field.");
        return 0;
    }
    const char *name = json_is_object(method) ? ms_json_strval(method, "name") : NULL;
    if (!json_is_object(method) || !json_object_get(method, "name")) {
        ms_resp_error(resp, 400, "Import request requires a 'name' field.");
        return 0;
    }
    if (!name || strcmp(name, "glance-direct") != 0) {
        ms_resp_error(resp, 400, "Unknown import method name '%s'.", name ? name : "");
        return 0;
    }
    json_t *flag = json_object_get(body, "all_stores_must_succeed");
    if (flag && !json_is_boolean(flag)) {
        ms_resp_error(resp, 400, "'all_stores_must_succeed' must be boolean value only");
        return 0;
    }
    flag = json_object_get(body, "all_stores");
    if (flag && !json_is_boolean(flag)) {
        ms_resp_error(resp, 400, "'all_stores' must be boolean value only");
        return 0;
    }
    image_autoptr img = NULL;
    int rc = image_lookup(req, resp, ms_req_param(req, "image_id"), &img);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    if (strcmp(img->status, "active") == 0) {
        ms_resp_error(resp, 409, "Image with status active cannot be target for import");
        return 0;
    }
    if (strcmp(img->status, "uploading") != 0) {
        ms_resp_error(resp, 409, "Image needs to be staged before 'glance-direct' method can "
                                 "be used");
        return 0;
    }
    if (!img->container_format) {
        ms_resp_error(resp, 409, "'container_format' needs to be set before import");
        return 0;
    }
    if (!img->disk_format) {
        ms_resp_error(resp, 409, "'disk_format' needs to be set before import");
        return 0;
    }
    if (!image_is_owner(&req->auth, img)) {
        ms_resp_error(resp, 403, "You are not authorized to complete modify_image action.");
        return 0;
    }
    if (ms_conf.image_storage_quota > 0 && img->owner) {
        long long count = 0, used = 0;
        rc = image_db_owner_usage(img->owner, &count, &used);
        if (rc < 0)
            return rc;
        /* the staged size is already counted in `used` */
        if (used > ms_conf.image_storage_quota) {
            ms_resp_error(resp, 413, "Image exceeds the storage quota: project %s uses %lld "
                                     "of %lld bytes.",
                          img->owner, used, ms_conf.image_storage_quota);
            return 0;
        }
    }
    /* The format was recorded when the data was staged; check it against
     * the disk_format declared now, as the import task would. */
    const char *found = img->detected_format;
    if (found) {
        static const char *const strict[] = {"qcow2", "vhd", "vhdx", "vmdk", "vdi", "iso",
                                             NULL};
        bool is_strict = false;
        for (const char *const *p = strict; *p; p++)
            is_strict |= strcmp(*p, img->disk_format) == 0;
        bool dangerous = strcmp(found, "qcow2") == 0 || strcmp(found, "vmdk") == 0 ||
                         strcmp(found, "qed") == 0 || strcmp(found, "vhdx") == 0 ||
                         strcmp(found, "vhd") == 0 || strcmp(found, "vdi") == 0;
        bool wrapped = img->container_format &&
                       (strcmp(img->container_format, "ova") == 0 ||
                        strcmp(img->container_format, "docker") == 0 ||
                        strcmp(img->container_format, "compressed") == 0);
        bool ok = wrapped || (is_strict ? strcmp(found, img->disk_format) == 0 : !dangerous);
        if (!ok) {
            rc = image_db_clear_data(img->id, "uploading");
            image_store_delete(img->id);
            if (rc < 0 && rc != -EBUSY)
                return rc;
            ms_resp_error(resp, 400, "Image content does not match the disk_format %s: the "
                                     "data is in %s format.",
                          img->disk_format, found);
            return 0;
        }
    }
    rc = image_db_transition(img->id, "uploading", "importing");
    if (rc == -EBUSY) {
        ms_resp_error(resp, 409, "New operation on image '%s' is not permitted as prior "
                                 "operation is still in progress", img->id);
        return 0;
    }
    if (rc < 0)
        return rc;
    rc = image_store_promote(img->id);
    if (rc < 0) {
        image_db_clear_data(img->id, "importing");
        ms_resp_error(resp, 409, "The staged data of image %s is missing; stage it again.",
                      img->id);
        return 0;
    }
    rc = image_db_transition(img->id, "importing", "active");
    if (rc < 0 && rc != -EBUSY)
        return rc;
    ms_info("image=%s imported (glance-direct) project=%s", img->id, req->auth.project_id);
    ms_resp_empty(resp, 202);
    return 0;
}
