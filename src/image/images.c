/* Images: create, list (Glance's filters, sorting and keyset pagination),
 * show, update by JSON patch, delete, deactivate/reactivate and tags.
 *
 * Access follows Glance: admin sees everything; others see their project's
 * images, public and community ones, and shared ones they are a member of.
 * An image the caller may not see is answered 404, never 403, so ids of
 * private images do not leak. Only the owner (or admin) changes an image. */
#include "image.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <monostack/config.h>
#include <monostack/json.h>

static const char *const disk_formats[] = {"ami", "ari", "aki", "vhd", "vhdx", "vmdk",
                                           "raw", "qcow2", "vdi", "iso", "ploop", NULL};
static const char *const container_formats[] = {"ami", "ari", "aki", "bare", "ovf", "ova",
                                                "docker", "compressed", NULL};
static const char *const visibilities[] = {"community", "public", "private", "shared", NULL};
/* Attributes the client may never set (Glance's read-only list). */
static const char *const readonly_attrs[] = {"created_at", "updated_at", "status", "checksum",
                                             "size", "virtual_size", "direct_url", "self",
                                             "file", "schema", "id", "os_hash_algo",
                                             "os_hash_value", "stores", "locations", NULL};
static const char *const reserved_attrs[] = {"location", "deleted", "deleted_at", NULL};

int64_t
image_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static bool
in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

static bool
is_reserved(const char *key)
{
    return in_list(reserved_attrs, key) || strncmp(key, "os_glance", 9) == 0;
}

bool
image_is_owner(const ms_auth_ctx *ctx, const image_t *img)
{
    if (ctx->is_admin)
        return true;
    return img->owner && ctx->project_id[0] && strcmp(img->owner, ctx->project_id) == 0;
}

bool
image_visible(const ms_auth_ctx *ctx, const image_t *img)
{
    if (ctx->is_admin || !img->owner)
        return true;
    if (strcmp(img->visibility, "public") == 0 || strcmp(img->visibility, "community") == 0)
        return true;
    if (!ctx->project_id[0])
        return false;
    if (strcmp(img->owner, ctx->project_id) == 0)
        return true;
    if (strcmp(img->visibility, "shared") == 0) {
        image_member_t m;
        return image_db_member_get(img->id, ctx->project_id, &m) == 0;
    }
    return false;
}

int
image_lookup(ms_request *req, ms_response *resp, const char *id, image_t **out)
{
    image_t *img = NULL;
    int rc = image_db_get(id, &img);
    if (rc == -ENOENT || (rc == 0 && !image_visible(&req->auth, img))) {
        image_free(img);
        ms_resp_error(resp, 404, "No image found with ID %s", id);
        return -ENOENT;
    }
    if (rc < 0)
        return rc;
    *out = img;
    return 0;
}

static json_t *
str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *
ll_or_null(long long v)
{
    return v < 0 ? json_null() : json_integer(v);
}

json_t *
image_to_json(const image_t *img)
{
    json_t *o = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(img->props, k, v) {
        if (strcmp(k, "os_glance_stage_host") != 0)
            json_object_set(o, k, v);
    }
    char created[32], updated[32];
    ms_time_iso(img->created_at, false, created);
    ms_time_iso(img->updated_at, false, updated);
    json_object_set_new(o, "name", str_or_null(img->name));
    json_object_set_new(o, "disk_format", str_or_null(img->disk_format));
    json_object_set_new(o, "container_format", str_or_null(img->container_format));
    json_object_set_new(o, "visibility", json_string(img->visibility));
    json_object_set_new(o, "size", ll_or_null(img->size));
    json_object_set_new(o, "virtual_size", ll_or_null(img->virtual_size));
    json_object_set_new(o, "status", json_string(img->status));
    json_object_set_new(o, "checksum", str_or_null(img->checksum));
    json_object_set_new(o, "protected", json_boolean(img->protected_));
    json_object_set_new(o, "min_ram", json_integer(img->min_ram));
    json_object_set_new(o, "min_disk", json_integer(img->min_disk));
    json_object_set_new(o, "owner", str_or_null(img->owner));
    json_object_set_new(o, "os_hidden", json_boolean(img->os_hidden));
    json_object_set_new(o, "os_hash_algo", str_or_null(img->os_hash_algo));
    json_object_set_new(o, "os_hash_value", str_or_null(img->os_hash_value));
    json_object_set_new(o, "id", json_string(img->id));
    json_object_set_new(o, "created_at", json_string(created));
    json_object_set_new(o, "updated_at", json_string(updated));
    if (img->tags)
        json_object_set(o, "tags", img->tags);
    else
        json_object_set_new(o, "tags", json_array());
    /* as a Glance with enabled backends: where the data is */
    if (strcmp(img->status, "active") == 0 || strcmp(img->status, "deactivated") == 0)
        json_object_set_new(o, "stores", json_string(IMAGE_STORE_ID));
    json_object_set_new(o, "self", json_sprintf("/v2/images/%s", img->id));
    json_object_set_new(o, "file", json_sprintf("/v2/images/%s/file", img->id));
    json_object_set_new(o, "schema", json_string("/v2/schemas/image"));
    return o;
}

/* ---- validation of base attributes (Glance's image schema) ---- */

/* Check one attribute value. Returns 0, or the status (400/403) after
 * writing the error. */
static int
check_attr(ms_request *req, ms_response *resp, const char *key, json_t *v)
{
    (void)req;
    if (strcmp(key, "name") == 0 || strcmp(key, "owner") == 0) {
        if (!json_is_null(v) && !json_is_string(v))
            goto type;
        if (json_is_string(v) && json_string_length(v) > 255)
            goto toolong;
        return 0;
    }
    if (strcmp(key, "disk_format") == 0 || strcmp(key, "container_format") == 0) {
        if (json_is_null(v))
            return 0;
        const char *const *list =
            strcmp(key, "disk_format") == 0 ? disk_formats : container_formats;
        if (!json_is_string(v) || !in_list(list, json_string_value(v))) {
            char *d = json_dumps(v, JSON_ENCODE_ANY);
            ms_resp_error(resp, 400,
                          "Invalid value '%s' for '%s': %s is not one of the allowed values.",
                          json_is_string(v) ? json_string_value(v) : d, key, d);
            free(d);
            return 400;
        }
        return 0;
    }
    if (strcmp(key, "visibility") == 0) {
        if (!json_is_string(v) || !in_list(visibilities, json_string_value(v))) {
            char *d = json_dumps(v, JSON_ENCODE_ANY);
            ms_resp_error(resp, 400, "Invalid visibility value: %s", d);
            free(d);
            return 400;
        }
        return 0;
    }
    if (strcmp(key, "protected") == 0 || strcmp(key, "os_hidden") == 0) {
        if (!json_is_boolean(v))
            goto type;
        return 0;
    }
    if (strcmp(key, "min_disk") == 0 || strcmp(key, "min_ram") == 0) {
        if (!json_is_integer(v))
            goto type;
        if (json_integer_value(v) < 0) {
            ms_resp_error(resp, 400, "Provided object does not match schema 'image': "
                                     "%lld is less than the minimum of 0",
                          (long long)json_integer_value(v));
            return 400;
        }
        return 0;
    }
    if (strcmp(key, "tags") == 0) {
        if (!json_is_array(v))
            goto type;
        size_t i;
        json_t *t;
        json_array_foreach(v, i, t) {
            if (!json_is_string(t))
                goto type;
            if (json_string_length(t) > 255)
                goto toolong;
        }
        if (json_array_size(v) > 128) {
            ms_resp_error(resp, 413, "Attempted: %zu, Maximum: 128", json_array_size(v));
            return 413;
        }
        return 0;
    }
    if (strcmp(key, "id") == 0) {
        const char *s = json_string_value(v);
        if (!s || strlen(s) != 36 || !ms_uuid_valid(s)) {
            ms_resp_error(resp, 400, "Provided object does not match schema 'image': "
                                     "'%s' does not match the id pattern", s ? s : "");
            return 400;
        }
        return 0;
    }
    /* any other attribute is a free string property */
    if (strlen(key) > 255) {
        ms_resp_error(resp, 400, "Custom property should not be greater than 255 characters.");
        return 400;
    }
    if (!json_is_string(v))
        goto type;
    return 0;
type: {
    char *d = json_dumps(v, JSON_ENCODE_ANY);
    ms_resp_error(resp, 400, "Provided object does not match schema 'image': %s is not of "
                             "the type required for '%s'",
                  d, key);
    free(d);
    return 400;
}
toolong:
    ms_resp_error(resp, 400, "Provided object does not match schema 'image': the value of "
                             "'%s' is too long",
                  key);
    return 400;
}

static bool
is_base_attr(const char *key)
{
    static const char *const base[] = {"name", "disk_format", "container_format",
                                       "visibility", "protected", "os_hidden", "min_disk",
                                       "min_ram", "owner", "tags", NULL};
    return in_list(base, key);
}

static void
set_base_attr(image_t *img, const char *key, json_t *v)
{
    const char *s = json_string_value(v);
    if (strcmp(key, "name") == 0) {
        free(img->name);
        img->name = ms_strdup(s);
    } else if (strcmp(key, "owner") == 0) {
        free(img->owner);
        img->owner = ms_strdup(s);
    } else if (strcmp(key, "disk_format") == 0) {
        free(img->disk_format);
        img->disk_format = ms_strdup(s);
    } else if (strcmp(key, "container_format") == 0) {
        free(img->container_format);
        img->container_format = ms_strdup(s);
    } else if (strcmp(key, "visibility") == 0) {
        snprintf(img->visibility, sizeof(img->visibility), "%s", s);
    } else if (strcmp(key, "protected") == 0) {
        img->protected_ = json_is_true(v);
    } else if (strcmp(key, "os_hidden") == 0) {
        img->os_hidden = json_is_true(v);
    } else if (strcmp(key, "min_disk") == 0) {
        img->min_disk = json_integer_value(v);
    } else if (strcmp(key, "min_ram") == 0) {
        img->min_ram = json_integer_value(v);
    } else if (strcmp(key, "tags") == 0) {
        /* a set, as Glance keeps it: duplicates collapse, order kept */
        json_t *tags = json_array();
        size_t i, j;
        json_t *t, *u;
        json_array_foreach(v, i, t) {
            bool dup = false;
            json_array_foreach(tags, j, u) {
                if (json_equal(t, u))
                    dup = true;
            }
            if (!dup)
                json_array_append(tags, t);
        }
        json_decref(img->tags);
        img->tags = tags;
    }
}

/* Who may set visibility: public needs admin (Glance's publicize_image). */
static int
check_visibility_change(ms_request *req, ms_response *resp, const char *vis)
{
    if (vis && strcmp(vis, "public") == 0 && !req->auth.is_admin) {
        ms_resp_error(resp, 403, "You are not authorized to complete publicize_image action.");
        return 403;
    }
    return 0;
}

static int
check_image_count_quota(ms_response *resp, const char *owner)
{
    if (ms_conf.image_count_quota <= 0 || !owner)
        return 0;
    long long count = 0, bytes = 0;
    int rc = image_db_owner_usage(owner, &count, &bytes);
    if (rc < 0)
        return rc;
    if (count >= ms_conf.image_count_quota) {
        ms_resp_error(resp, 413,
                      "Maximum number of images exceeded: project %s has %lld of %d allowed.",
                      owner, count, ms_conf.image_count_quota);
        return 413;
    }
    return 0;
}

int
image_create(ms_request *req, ms_response *resp)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        if (in_list(readonly_attrs, key) && strcmp(key, "id") != 0) {
            ms_resp_error(resp, 403, "Attribute '%s' is read-only.", key);
            return 0;
        }
        if (is_reserved(key)) {
            ms_resp_error(resp, 403, "Attribute '%s' is reserved.", key);
            return 0;
        }
        if (check_attr(req, resp, key, v))
            return 0;
    }
    image_autoptr img = ms_calloc(1, sizeof(image_t));
    const char *id = ms_json_strval(body, "id");
    if (id) {
        snprintf(img->id, sizeof(img->id), "%s", id);
        for (char *c = img->id; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        bool used = false;
        int rc = image_db_id_used(img->id, &used);
        if (rc < 0)
            return rc;
        if (used) {
            ms_resp_error(resp, 409, "Image with identifier %s already exists!", img->id);
            return 0;
        }
    } else {
        ms_uuid(img->id);
    }
    snprintf(img->status, sizeof(img->status), "queued");
    snprintf(img->visibility, sizeof(img->visibility), "shared");
    img->size = img->virtual_size = -1;
    img->props = json_object();
    img->tags = json_array();
    img->owner = ms_strdup(req->auth.project_id[0] ? req->auth.project_id : NULL);
    json_object_foreach(body, key, v) {
        if (strcmp(key, "id") == 0)
            continue;
        if (is_base_attr(key))
            set_base_attr(img, key, v);
        else
            json_object_set(img->props, key, v);
    }
    const char *owner = ms_json_strval(body, "owner");
    if (owner && !req->auth.is_admin && strcmp(owner, req->auth.project_id) != 0) {
        ms_resp_error(resp, 403, "You are not permitted to create images owned by '%s'.",
                      owner);
        return 0;
    }
    if (check_visibility_change(req, resp, img->visibility))
        return 0;
    if (json_object_size(img->props) > 128) {
        ms_resp_error(resp, 413, "Maximum number of image properties exceeded: 128.");
        return 0;
    }
    int rc = check_image_count_quota(resp, img->owner);
    if (rc)
        return rc < 0 ? rc : 0;
    img->created_at = img->updated_at = image_now();
    rc = image_db_insert(img);
    if (rc == -EEXIST) {
        ms_resp_error(resp, 409, "Image with identifier %s already exists!", img->id);
        return 0;
    }
    if (rc < 0)
        return rc;
    ms_info("image=%s created project=%s", img->id, req->auth.project_id);
    char loc[64];
    snprintf(loc, sizeof(loc), "/v2/images/%s", img->id);
    ms_resp_json(resp, 201, image_to_json(img));
    ms_resp_header(resp, "Location", loc);
    ms_resp_header(resp, "OpenStack-image-import-methods", "glance-direct");
    return 0;
}

int
image_show(ms_request *req, ms_response *resp)
{
    image_autoptr img = NULL;
    int rc = image_lookup(req, resp, ms_req_param(req, "image_id"), &img);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    ms_resp_json(resp, 200, image_to_json(img));
    return 0;
}

/* ---- list ---- */

typedef struct {
    const char *key, *val;
} kv;

typedef struct {
    kv items[64];
    int n;
    bool overflow;
} kv_list;

static bool
collect_query(void *cls, const char *key, const char *value)
{
    kv_list *l = cls;
    if (l->n == (int)MS_ARRAY_LEN(l->items)) {
        l->overflow = true;
        return false;
    }
    l->items[l->n].key = key;
    l->items[l->n].val = value ? value : "";
    l->n++;
    return true;
}

static const struct {
    const char *key;
    const char *col;
    bool is_int;
} sort_columns[] = {
    {"name", "COALESCE(i.name, '')", false},
    {"status", "i.status", false},
    {"container_format", "COALESCE(i.container_format, '')", false},
    {"disk_format", "COALESCE(i.disk_format, '')", false},
    {"size", "COALESCE(i.size, -1)", true},
    {"id", "i.id", false},
    {"created_at", "i.created_at", true},
    {"updated_at", "i.updated_at", true},
};

static const char *
sort_column(const char *key)
{
    for (size_t i = 0; i < MS_ARRAY_LEN(sort_columns); i++)
        if (strcmp(sort_columns[i].key, key) == 0)
            return sort_columns[i].col;
    return NULL;
}

static int
add_sort(ms_response *resp, image_query *q, const char *key, size_t klen)
{
    char k[64];
    while (klen && isspace((unsigned char)*key)) {
        key++;
        klen--;
    }
    while (klen && isspace((unsigned char)key[klen - 1]))
        klen--;
    snprintf(k, sizeof(k), "%.*s", (int)(klen < 63 ? klen : 63), key);
    const char *col = sort_column(k);
    if (!col || klen >= 63) {
        ms_resp_error(resp, 400, "Invalid sort key: %s. It must be one of the following: "
                                 "name, status, container_format, disk_format, size, id, "
                                 "created_at, updated_at.",
                      k);
        return 400;
    }
    if (q->nsort == IMAGE_MAX_SORT - 2) {
        ms_resp_error(resp, 400, "Too many sort keys.");
        return 400;
    }
    for (size_t i = 0; i < MS_ARRAY_LEN(sort_columns); i++)
        if (strcmp(sort_columns[i].key, k) == 0)
            q->sort_keys[q->nsort] = sort_columns[i].key;
    q->sort_cols[q->nsort] = col;
    q->sort_desc[q->nsort] = true;
    q->nsort++;
    return 0;
}

static int
parse_dir(ms_response *resp, const char *d, size_t len, bool *desc)
{
    while (len && isspace((unsigned char)*d)) {
        d++;
        len--;
    }
    while (len && isspace((unsigned char)d[len - 1]))
        len--;
    if (len == 3 && strncmp(d, "asc", 3) == 0) {
        *desc = false;
        return 0;
    }
    if (len == 4 && strncmp(d, "desc", 4) == 0) {
        *desc = true;
        return 0;
    }
    ms_resp_error(resp, 400, "Invalid sort direction: %.*s", (int)len, d);
    return 400;
}

/* "op:value" as Glance's split_filter_op: the text before the first colon
 * is the operator, unless the whole value is an ISO 8601 time; no colon
 * means "eq". An unknown operator is kept (truncated) so the caller can
 * refuse it with Glance's message. */
static const char *
split_op(const char *v, char op[16])
{
    const char *colon = strchr(v, ':');
    if (!colon || ms_time_parse(v) >= 0) {
        snprintf(op, 16, "eq");
        return v;
    }
    snprintf(op, 16, "%.*s", (int)(colon - v < 15 ? colon - v : 15), v);
    return colon + 1;
}

static const char *
sql_op(const char *op)
{
    if (strcmp(op, "eq") == 0)
        return "=";
    if (strcmp(op, "neq") == 0)
        return "<>";
    if (strcmp(op, "gt") == 0)
        return ">";
    if (strcmp(op, "gte") == 0)
        return ">=";
    if (strcmp(op, "lt") == 0)
        return "<";
    if (strcmp(op, "lte") == 0)
        return "<=";
    return NULL;
}

static image_cond *
new_cond(ms_response *resp, image_query *q)
{
    if (q->nconds >= IMAGE_MAX_COND - 1) {   /* one kept for the os_hidden default */
        ms_resp_error(resp, 400, "Too many filters.");
        return NULL;
    }
    return &q->conds[q->nconds++];
}

/* Strings that must outlive the query (split "in:" lists). */
typedef struct {
    char *s[32];
    int n;
} strpool;

static void
strpool_free(strpool *p)
{
    for (int i = 0; i < p->n; i++)
        free(p->s[i]);
}

static int
add_filter(ms_response *resp, image_query *q, strpool *pool, const char *key,
           const char *value)
{
    static const struct {
        const char *key, *col;
    } str_cols[] = {
        {"name", "i.name"},
        {"id", "i.id"},
        {"status", "i.status"},
        {"container_format", "i.container_format"},
        {"disk_format", "i.disk_format"},
    };
    static const struct {
        const char *key, *col;
    } eq_cols[] = {
        {"owner", "i.owner"},
        {"checksum", "i.checksum"},
        {"os_hash_value", "i.os_hash_value"},
        {"os_hash_algo", "i.os_hash_algo"},
        {"min_disk", "i.min_disk"},
        {"min_ram", "i.min_ram"},
        {"size", "i.size"},
        {"virtual_size", "i.virtual_size"},
    };
    char op[16];
    for (size_t i = 0; i < MS_ARRAY_LEN(str_cols); i++) {
        if (strcmp(key, str_cols[i].key) != 0)
            continue;
        const char *v = split_op(value, op);
        image_cond *c = new_cond(resp, q);
        if (!c)
            return 400;
        c->col = str_cols[i].col;
        if (strcmp(op, "in") == 0) {
            /* comma separated, double quotes protect commas */
            if (pool->n == (int)MS_ARRAY_LEN(pool->s)) {
                ms_resp_error(resp, 400, "Too many filters.");
                return 400;
            }
            char *copy = pool->s[pool->n++] = ms_strdup(v);
            c->op = "IN";
            char *p = copy;
            while (*p && c->nvals < (int)MS_ARRAY_LEN(c->vals)) {
                char *start, *end;
                if (*p == '"') {
                    start = ++p;
                    end = strchr(p, '"');
                    if (!end) {
                        ms_resp_error(resp, 400, "Invalid filter value %s. The quote is not "
                                                 "closed.", v);
                        return 400;
                    }
                    *end = '\0';
                    p = end + 1;
                    if (*p == ',')
                        p++;
                } else {
                    start = p;
                    end = strchr(p, ',');
                    if (end) {
                        *end = '\0';
                        p = end + 1;
                    } else {
                        p += strlen(p);
                    }
                }
                c->vals[c->nvals++] = start;
            }
            if (!c->nvals)
                c->vals[c->nvals++] = "";
        } else if (strcmp(op, "eq") == 0) {
            c->op = "=";
            c->vals[0] = v;
            c->nvals = 1;
        } else {
            ms_resp_error(resp, 400, "Unable to filter by unknown operator '%s'.", op);
            return 400;
        }
        return 0;
    }
    if (strcmp(key, "created_at") == 0 || strcmp(key, "updated_at") == 0) {
        const char *v = split_op(value, op);
        int64_t t = ms_time_parse(v);
        if (t < 0) {
            ms_resp_error(resp, 400, "Bad \"%s\" query filter format. Use ISO 8601 DateTime "
                                     "notation.", key);
            return 400;
        }
        const char *sop = sql_op(op);
        if (!sop) {
            ms_resp_error(resp, 400, "Unable to filter by unknown operator '%s'.", op);
            return 400;
        }
        image_cond *c = new_cond(resp, q);
        if (!c)
            return 400;
        c->col = strcmp(key, "created_at") == 0 ? "i.created_at" : "i.updated_at";
        /* stored with microseconds; the API compares whole seconds */
        c->op = sop;
        c->is_int = true;
        c->ival = t;
        if (strcmp(op, "eq") == 0 || strcmp(op, "neq") == 0) {
            c->col = strcmp(key, "created_at") == 0 ? "(i.created_at DIV 1000000 * 1000000)"
                                                    : "(i.updated_at DIV 1000000 * 1000000)";
        } else if (strcmp(op, "gt") == 0 || strcmp(op, "lte") == 0) {
            c->ival = t + 999999;
        }
        return 0;
    }
    size_t klen = strlen(key);
    if (klen > 4 && (strcmp(key + klen - 4, "_min") == 0 || strcmp(key + klen - 4, "_max") == 0)) {
        const char *col = NULL;
        if (strncmp(key, "size", klen - 4) == 0 && klen - 4 == 4)
            col = "i.size";
        else if (strncmp(key, "virtual_size", klen - 4) == 0 && klen - 4 == 12)
            col = "i.virtual_size";
        else if (strncmp(key, "min_ram", klen - 4) == 0 && klen - 4 == 7)
            col = "i.min_ram";
        else if (strncmp(key, "min_disk", klen - 4) == 0 && klen - 4 == 8)
            col = "i.min_disk";
        if (col) {
            char *end;
            errno = 0;
            long long n = strtoll(value, &end, 10);
            if (!*value || *end || errno) {
                ms_resp_error(resp, 400, "Unable to filter on a range with a non-numeric "
                                         "value.");
                return 400;
            }
            image_cond *c = new_cond(resp, q);
            if (!c)
                return 400;
            c->col = col;
            c->op = strcmp(key + klen - 4, "_min") == 0 ? ">=" : "<=";
            c->is_int = true;
            c->ival = n;
            return 0;
        }
    }
    for (size_t i = 0; i < MS_ARRAY_LEN(eq_cols); i++) {
        if (strcmp(key, eq_cols[i].key) != 0)
            continue;
        image_cond *c = new_cond(resp, q);
        if (!c)
            return 400;
        c->col = eq_cols[i].col;
        c->op = "=";
        c->vals[0] = value;
        c->nvals = 1;
        return 0;
    }
    if (strcmp(key, "protected") == 0 || strcmp(key, "os_hidden") == 0) {
        /* Glance lower-cases os_hidden (openstacksdk sends "True"), not protected */
        char low[8];
        if (strcmp(key, "os_hidden") == 0 && strlen(value) < sizeof(low)) {
            size_t i;
            for (i = 0; value[i]; i++)
                low[i] = (char)tolower((unsigned char)value[i]);
            low[i] = '\0';
            value = strcmp(low, "true") == 0 ? "true" : strcmp(low, "false") == 0 ? "false"
                                                                                 : value;
        }
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
            ms_resp_error(resp, 400, "Invalid value '%s' for '%s' filter. Valid values are "
                                     "'true' or 'false'.", value, key);
            return 400;
        }
        image_cond *c = new_cond(resp, q);
        if (!c)
            return 400;
        c->col = strcmp(key, "protected") == 0 ? "i.protected" : "i.os_hidden";
        c->op = "=";
        c->is_int = true;
        c->ival = strcmp(value, "true") == 0;
        return 0;
    }
    if (strcmp(key, "changes-since") == 0) {
        ms_resp_error(resp, 400, "The \"changes-since\" filter is no longer available on v2.");
        return 400;
    }
    /* anything else filters on a property */
    if (q->nprops == (int)MS_ARRAY_LEN(q->prop_keys)) {
        ms_resp_error(resp, 400, "Too many filters.");
        return 400;
    }
    q->prop_keys[q->nprops] = key;
    q->prop_vals[q->nprops++] = value;
    return 0;
}

static void
url_encode(ms_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || strchr("-_.~", *p))
            ms_buf_add(b, p, 1);
        else if (*p == ' ')
            ms_buf_adds(b, "+");
        else
            ms_buf_addf(b, "%%%02X", *p);
    }
}

int
image_list(ms_request *req, ms_response *resp)
{
    kv_list ql = {0};
    ms_req_query_each(req, collect_query, &ql);
    if (ql.overflow) {
        ms_resp_error(resp, 400, "Too many query parameters.");
        return 0;
    }
    image_query q = {0};
    strpool pool = {0};
    q.project = req->auth.project_id;
    q.admin = req->auth.is_admin;
    q.member_status = "accepted";
    q.limit = 25;
    const char *marker = NULL;
    bool have_sort = false, have_classic = false, hidden_given = false;
    bool dirs[IMAGE_MAX_SORT];
    int ndirs = 0;
    int status = 0;
    for (int i = 0; i < ql.n && !status; i++) {
        const char *k = ql.items[i].key, *v = ql.items[i].val;
        if (strcmp(k, "limit") == 0) {
            char *end;
            errno = 0;
            long long n = strtoll(v, &end, 10);
            if (!*v || *end || errno) {
                ms_resp_error(resp, 400, "limit param must be an integer");
                status = 400;
            } else if (n < 0) {
                ms_resp_error(resp, 400, "limit param must be positive");
                status = 400;
            } else {
                q.limit = n > 1000 ? 1000 : (int)n;
            }
        } else if (strcmp(k, "marker") == 0) {
            marker = v;
        } else if (strcmp(k, "member_status") == 0) {
            static const char *const ms[] = {"pending", "accepted", "rejected", "all", NULL};
            if (!in_list(ms, v)) {
                ms_resp_error(resp, 400, "Invalid status: %s", v);
                status = 400;
            }
            q.member_status = v;
        } else if (strcmp(k, "visibility") == 0) {
            static const char *const vs[] = {"community", "public", "private", "shared",
                                             "all", NULL};
            if (!in_list(vs, v)) {
                ms_resp_error(resp, 400, "Invalid visibility value: %s", v);
                status = 400;
            }
            q.visibility = v;
        } else if (strcmp(k, "tag") == 0) {
            if (q.ntags == (int)MS_ARRAY_LEN(q.tags)) {
                ms_resp_error(resp, 400, "Too many tags.");
                status = 400;
            } else {
                q.tags[q.ntags++] = v;
            }
        } else if (strcmp(k, "sort") == 0) {
            have_sort = true;
            const char *p = v;
            while (!status) {
                const char *comma = strchrnul(p, ',');
                const char *colon = memchr(p, ':', (size_t)(comma - p));
                size_t klen = (size_t)((colon ? colon : comma) - p);
                status = add_sort(resp, &q, p, klen);
                if (!status && colon)
                    status = parse_dir(resp, colon + 1, (size_t)(comma - colon - 1),
                                       &q.sort_desc[q.nsort - 1]);
                if (!*comma)
                    break;
                p = comma + 1;
            }
        } else if (strcmp(k, "sort_key") == 0) {
            have_classic = true;
            status = add_sort(resp, &q, v, strlen(v));
        } else if (strcmp(k, "sort_dir") == 0) {
            have_classic = true;
            if (ndirs == IMAGE_MAX_SORT) {
                ms_resp_error(resp, 400, "Too many sort directions.");
                status = 400;
            } else {
                status = parse_dir(resp, v, strlen(v), &dirs[ndirs++]);
            }
        } else {
            if (strcmp(k, "os_hidden") == 0)
                hidden_given = true;
            status = add_filter(resp, &q, &pool, k, v);
        }
    }
    if (!status && have_sort && have_classic) {
        ms_resp_error(resp, 400, "Old and new sorting syntax cannot be combined");
        status = 400;
    }
    if (!status && have_classic && ndirs) {
        if (ndirs > 1 && ndirs != q.nsort) {
            ms_resp_error(resp, 400, "Number of sort dirs does not match the number of sort "
                                     "keys");
            status = 400;
        } else {
            for (int i = 0; i < q.nsort; i++)
                q.sort_desc[i] = dirs[ndirs == 1 ? 0 : i];
        }
    }
    if (status) {
        strpool_free(&pool);
        return 0;
    }
    /* Tie breakers follow the only direction given, else desc (Glance). */
    bool default_desc = true;
    if (have_classic)
        default_desc = ndirs == 1 ? dirs[0] : true;
    else if (q.nsort == 1)
        default_desc = q.sort_desc[0];
    /* the default key, then created_at and id as tie breakers */
    if (!q.nsort) {
        add_sort(resp, &q, "created_at", 10);
        q.sort_desc[0] = default_desc;
    }
    static const char *const tails[] = {"created_at", "id"};
    for (size_t t = 0; t < 2; t++) {
        bool present = false;
        for (int i = 0; i < q.nsort; i++)
            present |= strcmp(q.sort_keys[i], tails[t]) == 0;
        if (!present) {
            q.sort_keys[q.nsort] = tails[t];
            q.sort_cols[q.nsort] = sort_column(tails[t]);
            q.sort_desc[q.nsort++] = default_desc;
        }
    }
    if (!hidden_given) {
        image_cond *c = &q.conds[q.nconds++];   /* room is reserved by the limit check */
        c->col = "i.os_hidden";
        c->op = "=";
        c->is_int = true;
        c->ival = 0;
    }
    image_autoptr marker_img = NULL;
    int rc = 0;
    if (marker) {
        rc = image_db_get(marker, &marker_img);
        if (rc == -ENOENT || (rc == 0 && !image_visible(&req->auth, marker_img))) {
            ms_resp_error(resp, 400, "No image found with ID %s", marker);
            strpool_free(&pool);
            return 0;
        }
        if (rc < 0) {
            strpool_free(&pool);
            return rc;
        }
        q.marker = marker_img;
    }
    image_t **list = NULL;
    size_t n = 0;
    if (q.limit > 0)
        rc = image_db_list(&q, &list, &n);
    strpool_free(&pool);
    if (rc == -E2BIG) {
        ms_resp_error(resp, 400, "The combination of filters is too large.");
        return 0;
    }
    if (rc < 0)
        return rc;
    json_t *images = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(images, image_to_json(list[i]));
    /* first and next keep every parameter but the marker */
    ms_buf qs = {0};
    for (int i = 0; i < ql.n; i++) {
        if (strcmp(ql.items[i].key, "marker") == 0)
            continue;
        if (qs.len)
            ms_buf_adds(&qs, "&");
        url_encode(&qs, ql.items[i].key);
        ms_buf_adds(&qs, "=");
        url_encode(&qs, ql.items[i].val);
    }
    json_t *body = json_object();
    json_object_set_new(body, "images", images);
    if (qs.len)
        json_object_set_new(body, "first", json_sprintf("/v2/images?%s", qs.data));
    else
        json_object_set_new(body, "first", json_string("/v2/images"));
    json_object_set_new(body, "schema", json_string("/v2/schemas/images"));
    if (n && (int)n == q.limit)
        json_object_set_new(body, "next",
                            json_sprintf("/v2/images?%s%smarker=%s", qs.len ? qs.data : "",
                                         qs.len ? "&" : "", list[n - 1]->id));
    ms_buf_free(&qs);
    for (size_t i = 0; i < n; i++)
        image_free(list[i]);
    free(list);
    ms_resp_json(resp, 200, body);
    return 0;
}

/* ---- update (JSON patch) ---- */

/* Decode a JSON pointer with Glance's restrictions into one token. */
static int
decode_pointer(ms_response *resp, const char *ptr, char *out, size_t outlen, int *depth)
{
    if (ptr[0] != '/') {
        ms_resp_error(resp, 400, "Pointer `%s` does not start with \"/\".", ptr);
        return 400;
    }
    size_t len = strlen(ptr);
    if (len > 1 && ptr[len - 1] == '/') {
        ms_resp_error(resp, 400, "Pointer `%s` end with \"/\".", ptr);
        return 400;
    }
    for (const char *p = ptr + 1; *p; p++) {
        if (*p == '/' && p[1] == '/') {
            ms_resp_error(resp, 400, "Pointer `%s` contains adjacent \"/\".", ptr);
            return 400;
        }
        if (*p == '~' && p[1] != '0' && p[1] != '1') {
            ms_resp_error(resp, 400, "Pointer `%s` contains \"~\" not part of a recognized "
                                     "escape sequence.", ptr);
            return 400;
        }
    }
    *depth = 1;
    size_t o = 0;
    for (const char *p = ptr + 1; *p; p++) {
        if (*p == '/') {
            (*depth)++;
            if (*depth > 1)
                break;
        }
        char c = *p;
        if (c == '~') {
            c = p[1] == '1' ? '/' : '~';
            p++;
        }
        if (o + 1 < outlen)
            out[o++] = c;
    }
    for (const char *p = ptr + 1; *p; p++)
        if (*p == '/')
            *depth = 2;
    out[o] = '\0';
    /* Glance strips whitespace around tokens */
    while (o && isspace((unsigned char)out[o - 1]))
        out[--o] = '\0';
    size_t lead = strspn(out, " \t");
    if (lead)
        memmove(out, out + lead, strlen(out + lead) + 1);
    return 0;
}

int
image_update(ms_request *req, ms_response *resp)
{
    const char *ctype = ms_req_header(req, "Content-Type");
    int draft = 0;
    if (ctype && strncmp(ctype, "application/openstack-images-v2.1-json-patch", 44) == 0)
        draft = 10;
    else if (ctype && strncmp(ctype, "application/openstack-images-v2.0-json-patch", 44) == 0)
        draft = 4;
    if (!draft) {
        ms_resp_error(resp, 415, "The request has a media type which is not supported by the "
                                 "server.");
        ms_resp_header(resp, "Accept-Patch",
                       "application/openstack-images-v2.0-json-patch, "
                       "application/openstack-images-v2.1-json-patch");
        return 0;
    }
    image_autoptr img = NULL;
    int rc = image_lookup(req, resp, ms_req_param(req, "image_id"), &img);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    if (!req->body_len) {
        ms_resp_error(resp, 400, "Body expected in request.");
        return 0;
    }
    json_error_t jerr;
    json_t *changes = json_loadb(req->body, req->body_len, 0, &jerr);
    if (!changes) {
        ms_resp_error(resp, 400, "Malformed JSON in request body.");
        return 0;
    }
    if (!json_is_array(changes)) {
        json_decref(changes);
        ms_resp_error(resp, 400, "Request body must be a JSON array of operation objects.");
        return 0;
    }
    /* Validate every change before applying any (Glance's deserializer). */
    size_t i;
    json_t *ch;
    int status = 0;
    json_array_foreach(changes, i, ch) {
        if (!json_is_object(ch)) {
            ms_resp_error(resp, 400, "Operations must be JSON objects.");
            status = 400;
            break;
        }
        const char *op = NULL, *path = NULL;
        if (draft == 10) {
            op = ms_json_strval(ch, "op");
            if (!op) {
                ms_resp_error(resp, 400, "Unable to find `op` in JSON Schema change. It must "
                                         "be one of the following: add, remove, replace.");
                status = 400;
                break;
            }
            if (strcmp(op, "add") && strcmp(op, "remove") && strcmp(op, "replace")) {
                ms_resp_error(resp, 400, "Invalid operation: `%s`. It must be one of the "
                                         "following: add, remove, replace.", op);
                status = 400;
                break;
            }
            path = ms_json_strval(ch, "path");
            if (!path) {
                ms_resp_error(resp, 400, "Unable to find 'path' in JSON Schema change");
                status = 400;
                break;
            }
        } else {
            static const char *const ops[] = {"add", "remove", "replace"};
            for (int k = 0; k < 3; k++) {
                if (json_object_get(ch, ops[k])) {
                    if (op) {
                        ms_resp_error(resp, 400, "Operation objects must contain only one "
                                                 "member named \"add\", \"remove\", or "
                                                 "\"replace\".");
                        status = 400;
                        break;
                    }
                    op = ops[k];
                    path = ms_json_strval(ch, ops[k]);
                }
            }
            if (status)
                break;
            if (!op || !path) {
                ms_resp_error(resp, 400, "Operation objects must contain exactly one member "
                                         "named \"add\", \"remove\", or \"replace\".");
                status = 400;
                break;
            }
        }
        char attr[300];
        int depth = 0;
        if ((status = decode_pointer(resp, path, attr, sizeof(attr), &depth)))
            break;
        if (depth != 1) {
            if (strncmp(attr, "locations", 9) == 0)
                ms_resp_error(resp, 403, "It's not allowed to update locations if locations "
                                         "are invisible.");
            else
                ms_resp_error(resp, 400, "Invalid JSON pointer for this resource: '%s'", path);
            status = depth != 1 && strncmp(attr, "locations", 9) == 0 ? 403 : 400;
            break;
        }
        if (in_list(readonly_attrs, attr)) {
            ms_resp_error(resp, 403, "Attribute '%s' is read-only.", attr);
            status = 403;
            break;
        }
        if (is_reserved(attr)) {
            ms_resp_error(resp, 403, "Attribute '%s' is reserved.", attr);
            status = 403;
            break;
        }
        if (strcmp(op, "remove") != 0) {
            json_t *value = json_object_get(ch, "value");
            if (!value) {
                ms_resp_error(resp, 400, "Operation \"%s\" requires a member named \"value\".",
                              op);
                status = 400;
                break;
            }
            if ((status = check_attr(req, resp, attr, value)))
                break;
        }
        json_object_set_new(ch, "_attr", json_string(attr));
        json_object_set_new(ch, "_op", json_string(op));
    }
    if (status) {
        json_decref(changes);
        return 0;
    }
    if (!image_is_owner(&req->auth, img)) {
        json_decref(changes);
        ms_resp_error(resp, 403, "You are not permitted to modify this image.");
        return 0;
    }
    json_array_foreach(changes, i, ch) {
        const char *op = ms_json_strval(ch, "_op");
        const char *attr = ms_json_strval(ch, "_attr");
        json_t *value = json_object_get(ch, "value");
        bool base = is_base_attr(attr);
        if (strcmp(op, "remove") == 0) {
            if (base) {
                ms_resp_error(resp, 403, "Property %s may not be removed.", attr);
                status = 403;
            } else if (!json_object_get(img->props, attr)) {
                ms_resp_error(resp, 409, "Property %s does not exist.", attr);
                status = 409;
            } else {
                json_object_del(img->props, attr);
            }
        } else {
            if (strcmp(op, "replace") == 0 && !base && !json_object_get(img->props, attr)) {
                ms_resp_error(resp, 409, "Property %s does not exist.", attr);
                status = 409;
            } else if (draft == 4 && strcmp(op, "add") == 0 &&
                       (base || json_object_get(img->props, attr))) {
                ms_resp_error(resp, 409, "Property %s already present.", attr);
                status = 409;
            } else if (strcmp(attr, "owner") == 0 && !req->auth.is_admin) {
                ms_resp_error(resp, 403, "Owner can't be updated by non admin.");
                status = 403;
            } else if (strcmp(attr, "visibility") == 0 &&
                       check_visibility_change(req, resp, json_string_value(value))) {
                status = 403;
            } else if ((strcmp(attr, "disk_format") == 0 ||
                        strcmp(attr, "container_format") == 0) &&
                       strcmp(img->status, "queued") != 0) {
                const char *cur = strcmp(attr, "disk_format") == 0 ? img->disk_format
                                                                   : img->container_format;
                if (!ms_streq(cur, json_string_value(value))) {
                    ms_resp_error(resp, 403, "Attribute %s can be only replaced for a queued "
                                             "image.", attr);
                    status = 403;
                }
            } else if (base) {
                set_base_attr(img, attr, value);
            } else {
                json_object_set(img->props, attr, value);
            }
        }
        if (status)
            break;
    }
    json_decref(changes);
    if (status)
        return 0;
    if (json_object_size(img->props) > 128) {
        ms_resp_error(resp, 413, "Maximum number of image properties exceeded: 128.");
        return 0;
    }
    img->updated_at = image_now();
    rc = image_db_save(img);
    if (rc < 0)
        return rc;
    image_autoptr fresh = NULL;
    rc = image_db_get(img->id, &fresh);
    if (rc == -ENOENT) {
        ms_resp_error(resp, 404, "No image found with ID %s", img->id);
        return 0;
    }
    if (rc < 0)
        return rc;
    ms_resp_json(resp, 200, image_to_json(fresh));
    return 0;
}

int
image_delete(ms_request *req, ms_response *resp)
{
    image_autoptr img = NULL;
    const char *id = ms_req_param(req, "image_id");
    int rc = image_lookup(req, resp, id, &img);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    if (!image_is_owner(&req->auth, img)) {
        ms_resp_error(resp, 403, "You are not permitted to delete this image.");
        return 0;
    }
    if (img->protected_) {
        ms_resp_error(resp, 403, "Image %s is protected and cannot be deleted.", img->id);
        return 0;
    }
    rc = image_db_soft_delete(img->id);
    if (rc == -ENOENT) {
        ms_resp_error(resp, 404, "Failed to find image %s to delete", img->id);
        return 0;
    }
    if (rc < 0)
        return rc;
    image_store_delete(img->id);
    ms_info("image=%s deleted project=%s", img->id, req->auth.project_id);
    ms_resp_empty(resp, 204);
    return 0;
}

static int
image_action(ms_request *req, ms_response *resp, bool deactivate)
{
    image_autoptr img = NULL;
    int rc = image_lookup(req, resp, ms_req_param(req, "image_id"), &img);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    if (!image_is_owner(&req->auth, img)) {
        ms_resp_error(resp, 403, "You are not authorized to complete %s action.",
                      deactivate ? "deactivate" : "reactivate");
        return 0;
    }
    const char *want = deactivate ? "deactivated" : "active";
    const char *from = deactivate ? "active" : "deactivated";
    if (strcmp(img->status, want) == 0) {
        ms_resp_empty(resp, 204);
        return 0;
    }
    rc = strcmp(img->status, from) == 0 ? image_db_transition(img->id, from, want) : -EBUSY;
    if (rc == -EBUSY) {
        ms_resp_error(resp, 403, "Not allowed to %s image in status '%s'",
                      deactivate ? "deactivate" : "reactivate", img->status);
        return 0;
    }
    if (rc < 0)
        return rc;
    ms_resp_empty(resp, 204);
    return 0;
}

int
image_deactivate(ms_request *req, ms_response *resp)
{
    return image_action(req, resp, true);
}

int
image_reactivate(ms_request *req, ms_response *resp)
{
    return image_action(req, resp, false);
}

int
image_tag_put(ms_request *req, ms_response *resp)
{
    image_autoptr img = NULL;
    int rc = image_lookup(req, resp, ms_req_param(req, "image_id"), &img);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    const char *tag = ms_req_param(req, "tag_value");
    if (strlen(tag) > 255) {
        ms_resp_error(resp, 400, "Provided object does not match schema 'image': tag is too "
                                 "long");
        return 0;
    }
    if (!image_is_owner(&req->auth, img)) {
        ms_resp_error(resp, 403, "You are not permitted to modify this image.");
        return 0;
    }
    if (json_array_size(img->tags) >= 128) {
        ms_resp_error(resp, 413, "Maximum number of tags exceeded: 128.");
        return 0;
    }
    rc = image_db_tag_add(img->id, tag);
    if (rc == 0)
        rc = image_db_touch(img->id);
    if (rc < 0)
        return rc;
    ms_resp_empty(resp, 204);
    return 0;
}

int
image_tag_delete(ms_request *req, ms_response *resp)
{
    image_autoptr img = NULL;
    int rc = image_lookup(req, resp, ms_req_param(req, "image_id"), &img);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    if (!image_is_owner(&req->auth, img)) {
        ms_resp_error(resp, 403, "You are not permitted to modify this image.");
        return 0;
    }
    const char *tag = ms_req_param(req, "tag_value");
    bool found = false;
    rc = image_db_tag_delete(img->id, tag, &found);
    if (rc < 0)
        return rc;
    if (!found) {
        ms_resp_error(resp, 404, "Tag %s not found.", tag);
        return 0;
    }
    image_db_touch(img->id);
    ms_resp_empty(resp, 204);
    return 0;
}
