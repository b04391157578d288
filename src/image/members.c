/* Image members: sharing an image of visibility "shared" with other
 * projects. The owner adds and removes members; each member accepts or
 * rejects for itself (accepted images appear in its default listing). A
 * member sees only its own membership record, as in Glance. */
#include "image.h"

#include <errno.h>
#include <string.h>

#include <monostack/json.h>

#define MEMBER_LIMIT 128

static json_t *
member_to_json(const image_member_t *m)
{
    char created[32], updated[32];
    ms_time_iso(m->created_at, false, created);
    ms_time_iso(m->updated_at, false, updated);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "member_id", m->member, "image_id",
                     m->image_id, "status", m->status, "created_at", created, "updated_at",
                     updated, "schema", "/v2/schemas/member");
}

/* The image, visible to the caller and shared; else the error is written. */
static int
shared_image(ms_request *req, ms_response *resp, image_t **img)
{
    int rc = image_lookup(req, resp, ms_req_param(req, "image_id"), img);
    if (rc < 0)
        return rc;
    if (strcmp((*img)->visibility, "shared") != 0) {
        ms_resp_error(resp, 403, "Only shared images have members.");
        image_free(*img);
        *img = NULL;
        return -EPERM;
    }
    return 0;
}

static int
handled(int rc)
{
    return rc == -ENOENT || rc == -EPERM ? 0 : rc;
}

int
image_members_list(ms_request *req, ms_response *resp)
{
    image_autoptr img = NULL;
    int rc = shared_image(req, resp, &img);
    if (rc < 0)
        return handled(rc);
    image_member_t *members = NULL;
    size_t n = 0;
    rc = image_db_members(img->id, &members, &n);
    if (rc < 0)
        return rc;
    bool owner = image_is_owner(&req->auth, img);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        if (owner || strcmp(members[i].member, req->auth.project_id) == 0)
            json_array_append_new(arr, member_to_json(&members[i]));
    free(members);
    ms_resp_json(resp, 200,
                 json_pack("{s:o,s:s}", "members", arr, "schema", "/v2/schemas/members"));
    return 0;
}

int
image_member_create(ms_request *req, ms_response *resp)
{
    image_autoptr img = NULL;
    int rc = shared_image(req, resp, &img);
    if (rc < 0)
        return handled(rc);
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    json_t *jm = json_object_get(body, "member");
    if (!jm) {
        ms_resp_error(resp, 400, "Member to be added not specified");
        return 0;
    }
    if (!json_is_string(jm)) {
        ms_resp_error(resp, 400, "Expected a member in the form: {\"member\": \"image_id\"}");
        return 0;
    }
    const char *member = json_string_value(jm);
    if (!*member) {
        ms_resp_error(resp, 400, "Member can't be empty");
        return 0;
    }
    if (strlen(member) > 255) {
        ms_resp_error(resp, 400, "Provided object does not match schema 'member': member_id "
                                 "is too long");
        return 0;
    }
    if (!image_is_owner(&req->auth, img)) {
        ms_resp_error(resp, 403, "You are not permitted to create image members for the "
                                 "image.");
        return 0;
    }
    long long count = 0;
    rc = image_db_member_count(img->id, &count);
    if (rc < 0)
        return rc;
    if (count >= MEMBER_LIMIT) {
        ms_resp_error(resp, 413, "Image member limit exceeded for image %s: Maximum number "
                                 "of image members exceeded: %d.", img->id, MEMBER_LIMIT);
        return 0;
    }
    rc = image_db_member_add(img->id, member, image_now());
    if (rc == -EEXIST) {
        ms_resp_error(resp, 409, "Member %s is duplicated for image %s", member, img->id);
        return 0;
    }
    if (rc < 0)
        return rc;
    image_member_t m;
    rc = image_db_member_get(img->id, member, &m);
    if (rc < 0)
        return rc == -ENOENT ? -EIO : rc;
    ms_resp_json(resp, 200, member_to_json(&m));
    return 0;
}

/* The member record the caller may see: the owner sees all, a member its own. */
static int
lookup_member(ms_request *req, ms_response *resp, const image_t *img, image_member_t *m)
{
    const char *member = ms_req_param(req, "member_id");
    int rc = image_db_member_get(img->id, member, m);
    if (rc == 0 && !image_is_owner(&req->auth, img) &&
        strcmp(member, req->auth.project_id) != 0)
        rc = -ENOENT;
    if (rc == -ENOENT)
        ms_resp_error(resp, 404, "%s not found in the member list of the image %s.", member,
                      img->id);
    return rc;
}

int
image_member_show(ms_request *req, ms_response *resp)
{
    image_autoptr img = NULL;
    int rc = shared_image(req, resp, &img);
    if (rc < 0)
        return handled(rc);
    image_member_t m;
    rc = lookup_member(req, resp, img, &m);
    if (rc < 0)
        return handled(rc);
    ms_resp_json(resp, 200, member_to_json(&m));
    return 0;
}

int
image_member_update(ms_request *req, ms_response *resp)
{
    image_autoptr img = NULL;
    int rc = shared_image(req, resp, &img);
    if (rc < 0)
        return handled(rc);
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    json_t *js = json_object_get(body, "status");
    if (!js) {
        ms_resp_error(resp, 400, "Status not specified");
        return 0;
    }
    if (!json_is_string(js)) {
        ms_resp_error(resp, 400, "Expected a status in the form: {\"status\": \"status\"}");
        return 0;
    }
    const char *status = json_string_value(js);
    image_member_t m;
    rc = lookup_member(req, resp, img, &m);
    if (rc < 0)
        return handled(rc);
    /* Only the member decides; the owner may not accept on its behalf. */
    if (!req->auth.is_admin && strcmp(m.member, req->auth.project_id) != 0) {
        ms_resp_error(resp, 403, "You are not permitted to modify 'status' on this image "
                                 "member.");
        return 0;
    }
    if (strcmp(status, "pending") && strcmp(status, "accepted") && strcmp(status, "rejected")) {
        ms_resp_error(resp, 400, "Incorrect request: Status must be \"pending\", \"accepted\" "
                                 "or \"rejected\".");
        return 0;
    }
    rc = image_db_member_set(img->id, m.member, status, image_now());
    if (rc < 0)
        return rc;
    rc = image_db_member_get(img->id, m.member, &m);
    if (rc < 0)
        return rc == -ENOENT ? -EIO : rc;
    ms_resp_json(resp, 200, member_to_json(&m));
    return 0;
}

int
image_member_delete(ms_request *req, ms_response *resp)
{
    image_autoptr img = NULL;
    int rc = shared_image(req, resp, &img);
    if (rc < 0)
        return handled(rc);
    image_member_t m;
    rc = lookup_member(req, resp, img, &m);
    if (rc < 0)
        return handled(rc);
    if (!image_is_owner(&req->auth, img)) {
        ms_resp_error(resp, 403, "You cannot delete image member.");
        return 0;
    }
    rc = image_db_member_delete(img->id, m.member);
    if (rc == -ENOENT) {
        ms_resp_error(resp, 404, "%s not found in the member list of the image %s.", m.member,
                      img->id);
        return 0;
    }
    if (rc < 0)
        return rc;
    ms_resp_empty(resp, 204);
    return 0;
}
