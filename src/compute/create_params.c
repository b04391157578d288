/* The parts of a server create that reach other services: "networks",
 * "security_groups" and the block device mappings (v2 and legacy). Each is
 * checked against Nova's schema for the request's microversion, then with
 * Nova's create-time rules (BlockDeviceDict.from_api, _validate_bdm, the
 * network and security group checks), and the things it names are looked
 * up through the network and volume services' interfaces, so a missing
 * network, port, group, volume or snapshot gets Nova's 400. */
#include "compute.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <monostack/image.h>
#include <monostack/network.h>
#include <monostack/volume.h>

#define INVALID (-EINVAL)

/* Python's repr() of a JSON value, as jsonschema's messages show values. */
static void
py_repr(ms_buf *b, const json_t *v)
{
    if (!v || json_is_null(v)) {
        ms_buf_adds(b, "None");
    } else if (json_is_true(v)) {
        ms_buf_adds(b, "True");
    } else if (json_is_false(v)) {
        ms_buf_adds(b, "False");
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
        ms_buf_add(b, &q, 1);
        for (; *s; s++) {
            if (*s == q || *s == '\\')
                ms_buf_add(b, "\\", 1);
            ms_buf_add(b, s, 1);
        }
        ms_buf_add(b, &q, 1);
    } else if (json_is_array(v)) {
        size_t k;
        json_t *x;
        ms_buf_adds(b, "[");
        json_array_foreach(v, k, x) {
            if (k)
                ms_buf_adds(b, ", ");
            py_repr(b, x);
        }
        ms_buf_adds(b, "]");
    } else if (json_is_object(v)) {
        const char *key;
        json_t *x;
        bool first = true;
        ms_buf_adds(b, "{");
        json_object_foreach((json_t *)v, key, x) {
            if (!first)
                ms_buf_adds(b, ", ");
            first = false;
            json_t *ks = json_string(key);
            py_repr(b, ks);
            json_decref(ks);
            ms_buf_adds(b, ": ");
            py_repr(b, x);
        }
        ms_buf_adds(b, "}");
    } else {
        char *s = json_dumps(v, JSON_ENCODE_ANY);
        ms_buf_adds(b, s ? s : "?");
        free(s);
    }
}

/* 400 "Invalid input for field/attribute <field>. Value: <str>. <reason>",
 * Nova's rendering of a schema error: the value as Python's str() shows it
 * and the reason holding its repr() once as %s. */
int
compute_schema_error(ms_response *resp, const char *field, const json_t *value,
                     const char *reason_fmt)
{
    ms_buf rb = {0}, vb = {0};
    py_repr(&rb, value);
    if (json_is_string(value))
        ms_buf_adds(&vb, json_string_value(value));
    else
        py_repr(&vb, value);
    const char *repr = ms_buf_cstr(&rb);
    /* Substituted by hand: reasons may carry user text, never a format. */
    const char *at = strstr(reason_fmt, "%s");
    char *reason = at ? ms_asprintf("%.*s%s%s", (int)(at - reason_fmt), reason_fmt, repr,
                                    at + 2)
                      : ms_strdup(reason_fmt);
    ms_resp_error(resp, 400, "Invalid input for field/attribute %s. Value: %s. %s", field,
                  ms_buf_cstr(&vb), reason);
    free(reason);
    ms_buf_free(&rb);
    ms_buf_free(&vb);
    return INVALID;
}

#define bad compute_schema_error

static bool
is_ip(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* Nova's parameter_types.tag; NULL when fine, else the reason. */
static const char *
tag_problem(const json_t *v)
{
    if (!json_is_string(v))
        return "%s is not of type 'string'";
    size_t n = json_string_length(v);
    if (n < 1)
        return "%s is too short";
    if (n > 60)
        return "%s is too long";
    if (strpbrk(json_string_value(v), ",/"))
        return "%s does not match '^[^,/]*$'";
    return NULL;
}

static const char *
uuid_problem(const json_t *v)
{
    if (!json_is_string(v))
        return "%s is not of type 'string'";
    if (!ms_uuid_valid(json_string_value(v)))
        return "%s is not a 'uuid'";
    return NULL;
}

static const char *
string_problem(const json_t *v, size_t min, size_t max)
{
    if (!json_is_string(v))
        return "%s is not of type 'string'";
    if (json_string_length(v) < min)
        return "%s is too short";
    if (json_string_length(v) > max)
        return "%s is too long";
    return NULL;
}

/* ---- networks ---- */

/* One item of "networks" against the schema; on a problem, *field and the
 * returned reason describe it (the value is *badv). */
static const char *
net_item_problem(const json_t *item, int mv, const char **field, const json_t **badv,
                 char idx[24])
{
    *field = idx;
    *badv = item;
    if (!json_is_object(item))
        return "%s is not of type 'object'";
    bool tag_ok = (mv >= MS_MV(2, 32) && mv < MS_MV(2, 37)) || mv >= MS_MV(2, 42);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)item, k, v) {
        if (strcmp(k, "fixed_ip") && strcmp(k, "port") && strcmp(k, "uuid") &&
            (strcmp(k, "tag") || !tag_ok)) {
            static __thread char msg[300];
            snprintf(msg, sizeof(msg),
                     "Additional properties are not allowed ('%.200s' was unexpected)", k);
            return msg;
        }
    }
    json_object_foreach((json_t *)item, k, v) {
        *field = k;
        *badv = v;
        if (!strcmp(k, "fixed_ip")) {
            if (!json_is_string(v))
                return "%s is not of type 'string'";
            if (!is_ip(json_string_value(v)))
                return "%s is not valid under any of the given schemas";
        } else if (!strcmp(k, "port")) {
            if (!json_is_null(v) && uuid_problem(v))
                return "%s is not valid under any of the given schemas";
        } else if (!strcmp(k, "uuid")) {
            const char *p = mv >= MS_MV(2, 37) ? uuid_problem(v)
                                               : (json_is_string(v) ? NULL
                                                                    : "%s is not of type 'string'");
            if (p)
                return p;
        } else if (!strcmp(k, "tag")) {
            const char *p = tag_problem(v);
            if (p)
                return p;
        }
    }
    return NULL;
}

int
compute_create_networks(ms_request *req, ms_response *resp, const json_t *srv, json_t **out)
{
    *out = NULL;
    json_t *nets = json_object_get(srv, "networks");
    bool v237 = req->mv >= MS_MV(2, 37);
    if (!nets) {
        if (v237) {
            ms_resp_error(resp, 400, "Invalid input for field/attribute server. Value: {...}. "
                                     "'networks' is a required property");
            return INVALID;
        }
        *out = json_pack("{s:s,s:[]}", "mode", "any", "requests");
        return 0;
    }
    if (json_is_string(nets) && v237) {
        const char *s = json_string_value(nets);
        if (strcmp(s, "auto") && strcmp(s, "none"))
            return bad(resp, "networks", nets, "%s is not valid under any of the given schemas");
        *out = json_pack("{s:s,s:[]}", "mode", s, "requests");
        return 0;
    }
    if (!json_is_array(nets))
        return bad(resp, "networks", nets,
                   v237 ? "%s is not valid under any of the given schemas"
                        : "%s is not of type 'array'");
    size_t k;
    json_t *item;
    json_array_foreach(nets, k, item) {
        char idx[24];
        snprintf(idx, sizeof(idx), "%zu", k);
        const char *field;
        const json_t *badv;
        const char *p = net_item_problem(item, req->mv, &field, &badv, idx);
        if (p && v237)
            return bad(resp, "networks", nets, "%s is not valid under any of the given schemas");
        if (p)
            return bad(resp, field, badv, p);
    }
    /* Nova's _get_requested_networks. */
    json_t *reqs = json_array();
    json_t *ports = json_object();
    int rc = 0;
    json_array_foreach(nets, k, item) {
        const char *port = ms_json_strval(item, "port");
        const char *ip = ms_json_strval(item, "fixed_ip");
        const char *uuid = ms_json_strval(item, "uuid");
        json_t *r = json_object();
        if (port) {
            if (json_object_get(ports, port)) {
                ms_resp_error(resp, 400, "Port ID '%s' was specified twice: you cannot attach "
                                         "a port multiple times.", port);
                rc = INVALID;
            } else if (json_object_get(item, "fixed_ip")) {
                ms_resp_error(resp, 400, "Specified Fixed IP '%s' cannot be used with port "
                                         "'%s': the two cannot be specified together.",
                              ip ? ip : "None", port);
                rc = INVALID;
            }
            json_object_set_new(ports, port, json_true());
            json_object_set_new(r, "port", json_string(port));
        } else if (!json_object_get(item, "uuid")) {
            ms_resp_error(resp, 400, "Bad network format: missing 'uuid'");
            rc = INVALID;
        } else if (!uuid || !ms_uuid_valid(uuid)) {
            ms_resp_error(resp, 400, "Bad networks format: network uuid is not in proper "
                                     "format (%s)", uuid ? uuid : "None");
            rc = INVALID;
        } else {
            json_object_set_new(r, "uuid", json_string(uuid));
            if (ip)
                json_object_set_new(r, "fixed_ip", json_string(ip));
        }
        const char *tag = ms_json_strval(item, "tag");
        if (tag)
            json_object_set_new(r, "tag", json_string(tag));
        json_array_append_new(reqs, r);
        if (rc < 0)
            break;
    }
    json_decref(ports);
    /* Nova asks Neutron about the ports first, then the networks. */
    for (int pass = 0; rc == 0 && pass < 2; pass++) {
        json_array_foreach(reqs, k, item) {
            const char *id = ms_json_strval(item, pass == 0 ? "port" : "uuid");
            if (!id)
                continue;
            rc = pass == 0 ? ms_network_port_check(&req->auth, id)
                           : ms_network_check(&req->auth, id);
            if (rc == -ENOENT) {
                ms_resp_error(resp, 400, pass == 0 ? "Port id %s could not be found."
                                                   : "Network %s could not be found.",
                              id);
                rc = INVALID;
            } else if (rc == -EBUSY) {
                ms_resp_error(resp, 409, "Port %s is still in use.", id);
                rc = INVALID;
            }
            if (rc < 0)
                break;
        }
    }
    if (rc < 0) {
        json_decref(reqs);
        return rc;
    }
    *out = json_pack("{s:s,s:o}", "mode", json_array_size(reqs) ? "list" : "any", "requests",
                     reqs);
    return 0;
}

/* ---- security groups ---- */

int
compute_create_security_groups(ms_request *req, ms_response *resp, const json_t *srv,
                               json_t **out)
{
    *out = NULL;
    json_t *sgs = json_object_get(srv, "security_groups");
    json_t *names = json_array();
    if (sgs && !json_is_array(sgs)) {
        json_decref(names);
        return bad(resp, "security_groups", sgs, "%s is not of type 'array'");
    }
    size_t k;
    json_t *item;
    json_array_foreach(sgs, k, item) {
        char idx[24];
        snprintf(idx, sizeof(idx), "%zu", k);
        int rc = 0;
        if (!json_is_object(item)) {
            rc = bad(resp, idx, item, "%s is not of type 'object'");
        } else {
            const char *key;
            json_t *v;
            json_object_foreach(item, key, v) {
                if (strcmp(key, "name")) {
                    char *msg = ms_asprintf("Additional properties are not allowed ('%s' was "
                                            "unexpected)", key);
                    rc = bad(resp, idx, item, msg);
                    free(msg);
                    break;
                }
            }
            json_t *name = json_object_get(item, "name");
            const char *p = name && rc == 0 ? string_problem(name, 1, 255) : NULL;
            if (p) {
                rc = bad(resp, "name", name, p);
            } else if (name && rc == 0 && !compute_valid_name(json_string_value(name))) {
                /* Nova's "name" format error stands alone, without the prefix. */
                ms_resp_error(resp, 400, "An invalid 'name' value was provided. The name must "
                                         "be: printable characters. Can not start or end with "
                                         "whitespace.");
                rc = INVALID;
            }
        }
        if (rc < 0) {
            json_decref(names);
            return rc;
        }
    }
    /* Nameless entries are skipped and repeats count once, as in Nova. */
    json_array_foreach(sgs, k, item) {
        const char *name = ms_json_strval(item, "name");
        if (ms_str_empty(name))
            continue;
        bool seen = false;
        size_t j;
        json_t *v;
        json_array_foreach(names, j, v)
            seen = seen || !strcmp(json_string_value(v), name);
        if (!seen)
            json_array_append_new(names, json_string(name));
    }
    if (json_array_size(names) == 0)
        json_array_append_new(names, json_string("default"));
    /* "default" always exists (Neutron makes it per project on demand). */
    json_array_foreach(names, k, item) {
        const char *name = json_string_value(item);
        if (!strcmp(name, "default"))
            continue;
        char id[37];
        int rc = ms_network_security_group_find(&req->auth, name, id);
        if (rc == -ENOENT) {
            ms_resp_error(resp, 400, "Unable to find security_group with name or id '%s'", name);
            rc = INVALID;
        } else if (rc == -EEXIST) {
            ms_resp_error(resp, 409, "Multiple security_group matches found for name '%s', "
                                     "use an ID to be more specific.", name);
            rc = INVALID;
        }
        if (rc < 0) {
            json_decref(names);
            return rc;
        }
    }
    *out = names;
    return 0;
}

/* ---- block device mappings ---- */

static const char *const nova_bool_enum =
    "%s is not one of [True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', "
    "'yes', False, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no']";

static bool
device_name_ok(const char *s)
{
    /* Nova's pattern ^[a-zA-Z0-9._-r/]*$, whose "_-r" is a range. */
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '/' || (c >= '_' && c <= 'r')))
            return false;
    }
    return true;
}

static bool
uuid_chars_ok(const char *s)
{
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static bool
digits(const char *s, bool sign)
{
    if (sign && *s == '-')
        s++;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
    }
    return true;
}

/* One property of a mapping against the schema; NULL when fine. */
static const char *
bdm_prop_problem(const char *k, const json_t *v)
{
    if (!strcmp(k, "virtual_name") || !strcmp(k, "guest_format") ||
        !strcmp(k, "device_type") || !strcmp(k, "disk_bus"))
        return string_problem(v, 0, 255);
    if (!strcmp(k, "volume_id") || !strcmp(k, "snapshot_id") || !strcmp(k, "image_id"))
        return uuid_problem(v);
    if (!strcmp(k, "volume_size")) {
        long long n;
        if (!json_is_integer(v) && !json_is_string(v))
            return "%s is not of type 'integer', 'string'";
        if (json_is_string(v) && !digits(json_string_value(v), false))
            return "%s does not match '^[0-9]+$'";
        n = json_is_integer(v) ? json_integer_value(v) : atoll(json_string_value(v));
        if (n < 1)
            return "%s is less than the minimum of 1";
        if (n > 0x7FFFFFFF)
            return "%s is greater than the maximum of 2147483647";
        return NULL;
    }
    if (!strcmp(k, "device_name")) {
        const char *p = string_problem(v, 1, 255);
        if (p)
            return p;
        return device_name_ok(json_string_value(v)) ? NULL
                                                    : "%s does not match '^[a-zA-Z0-9._-r/]*$'";
    }
    if (!strcmp(k, "delete_on_termination"))
        return compute_json_bool(v) < 0 ? nova_bool_enum : NULL;
    if (!strcmp(k, "connection_info"))
        return string_problem(v, 0, 16777215);
    if (!strcmp(k, "source_type")) {
        const char *s = json_string_value(v);
        if (!json_is_string(v))
            return "%s is not of type 'string'";
        if (strcmp(s, "volume") && strcmp(s, "image") && strcmp(s, "snapshot") &&
            strcmp(s, "blank"))
            return "%s is not one of ['volume', 'image', 'snapshot', 'blank']";
        return NULL;
    }
    if (!strcmp(k, "destination_type")) {
        const char *s = json_string_value(v);
        if (!json_is_string(v))
            return "%s is not of type 'string'";
        if (strcmp(s, "local") && strcmp(s, "volume"))
            return "%s is not one of ['local', 'volume']";
        return NULL;
    }
    if (!strcmp(k, "uuid")) {
        const char *p = string_problem(v, 1, 255);
        if (p)
            return p;
        return uuid_chars_ok(json_string_value(v)) ? NULL
                                                   : "%s does not match '^[a-zA-Z0-9._-]*$'";
    }
    if (!strcmp(k, "boot_index")) {
        if (json_is_null(v) || json_is_integer(v))
            return NULL;
        if (!json_is_string(v))
            return "%s is not of type 'integer', 'string', 'null'";
        return digits(json_string_value(v), true) ? NULL : "%s does not match '^-?[0-9]+$'";
    }
    if (!strcmp(k, "tag"))
        return tag_problem(v);
    if (!strcmp(k, "volume_type")) {
        if (json_is_null(v))
            return NULL;
        if (!json_is_string(v))
            return "%s is not of type 'string', 'null'";
        return json_string_length(v) > 255 ? "%s is too long" : NULL;
    }
    return NULL;   /* no_device: anything */
}

static int
bdm_schema(ms_request *req, ms_response *resp, const char *field, const json_t *list,
           bool v2)
{
    if (!json_is_array(list))
        return bad(resp, field, list, "%s is not of type 'array'");
    static const char *const legacy[] = {"virtual_name", "volume_id", "snapshot_id",
                                         "volume_size", "device_name",
                                         "delete_on_termination", "no_device",
                                         "connection_info"};
    static const char *const added[] = {"source_type", "uuid", "image_id", "destination_type",
                                        "guest_format", "device_type", "disk_bus",
                                        "boot_index"};
    bool tag_ok = req->mv == MS_MV(2, 32) || req->mv >= MS_MV(2, 42);
    bool vt_ok = req->mv >= MS_MV(2, 67);
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item) {
        char idx[24];
        snprintf(idx, sizeof(idx), "%zu", i);
        if (!json_is_object(item))
            return bad(resp, idx, item, "%s is not of type 'object'");
        const char *k;
        json_t *v;
        json_object_foreach(item, k, v) {
            bool ok = false;
            for (size_t a = 0; a < MS_ARRAY_LEN(legacy); a++)
                ok = ok || !strcmp(k, legacy[a]);
            for (size_t a = 0; v2 && a < MS_ARRAY_LEN(added); a++)
                ok = ok || !strcmp(k, added[a]);
            ok = ok || (v2 && tag_ok && !strcmp(k, "tag")) ||
                 (v2 && vt_ok && !strcmp(k, "volume_type"));
            if (!ok) {
                char *msg = ms_asprintf("Additional properties are not allowed ('%s' was "
                                        "unexpected)", k);
                int rc = bad(resp, idx, item, msg);
                free(msg);
                return rc;
            }
        }
        json_object_foreach(item, k, v) {
            const char *p = bdm_prop_problem(k, v);
            if (p)
                return bad(resp, k, v, p);
        }
    }
    return 0;
}

static int
bdm_invalid(ms_response *resp, const char *details)
{
    ms_resp_error(resp, 400, "Block Device Mapping is Invalid: %s", details);
    return INVALID;
}

static long long
int_of(const json_t *v, long long dflt)
{
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_string(v) && digits(json_string_value(v), true))
        return atoll(json_string_value(v));
    return dflt;
}

/* A blank local disk of the flavor's (Nova's create_blank_bdm). */
static json_t *
blank_bdm(long long size, const char *guest_format)
{
    json_t *b = json_pack("{s:s,s:s,s:i,s:I,s:b}", "source_type", "blank", "destination_type",
                          "local", "boot_index", -1, "volume_size", size,
                          "delete_on_termination", 1);
    if (guest_format)
        json_object_set_new(b, "guest_format", json_string(guest_format));
    return b;
}

static void
copy_str(json_t *dst, const json_t *src, const char *key)
{
    const char *s = ms_json_strval(src, key);
    if (s)
        json_object_set_new(dst, key, json_string(s));
}

/* The stored form of one v2 mapping after from_api's checks. */
static int
bdm_from_api(ms_response *resp, const json_t *in, bool image_given, json_t **out)
{
    *out = NULL;
    json_t *b = json_object();
    bool no_device = json_object_get(in, "no_device") &&
                     !json_is_false(json_object_get(in, "no_device")) &&
                     !json_is_null(json_object_get(in, "no_device"));
    const char *src = ms_json_strval(in, "source_type");
    const char *dst = ms_json_strval(in, "destination_type");
    const char *uuid = ms_json_strval(in, "uuid");
    json_t *bi = json_object_get(in, "boot_index");
    if (!no_device) {
        if (src && !strcmp(src, "blank") && uuid) {
            json_decref(b);
            return bdm_invalid(resp, "Invalid device UUID.");
        }
        if ((!src || strcmp(src, "blank")) && !uuid) {
            json_decref(b);
            return bdm_invalid(resp, "Missing device UUID.");
        }
        if (!src) {
            json_decref(b);
            return bdm_invalid(resp, "Some required fields are missing");
        }
        if (!strcmp(src, "image") && dst && !strcmp(dst, "local") &&
            !(image_given && int_of(bi, -1) == 0)) {
            json_decref(b);
            return bdm_invalid(resp, "Mapping image to local is not supported.");
        }
        const char *vt = ms_json_strval(in, "volume_type");
        if (dst && !strcmp(dst, "local") && vt) {
            json_decref(b);
            return bdm_invalid(resp, "Specifying a volume_type with destination_type=local "
                                     "is not supported.");
        }
        if (!strcmp(src, "volume") && vt) {
            json_decref(b);
            return bdm_invalid(resp, "Specifying volume type to existing volume is not "
                                     "supported.");
        }
        json_object_set_new(b, "source_type", json_string(src));
        if (strcmp(src, "blank")) {
            char key[32];
            snprintf(key, sizeof(key), "%s_id", src);
            json_object_set_new(b, key, json_string(uuid));
        }
    } else {
        json_object_set_new(b, "no_device", json_true());
        copy_str(b, in, "source_type");
    }
    copy_str(b, in, "destination_type");
    copy_str(b, in, "device_name");
    copy_str(b, in, "guest_format");
    copy_str(b, in, "device_type");
    copy_str(b, in, "disk_bus");
    copy_str(b, in, "volume_type");
    copy_str(b, in, "tag");
    if (!json_object_get(b, "image_id"))
        copy_str(b, in, "image_id");
    if (!json_object_get(b, "volume_id"))
        copy_str(b, in, "volume_id");
    if (!json_object_get(b, "snapshot_id"))
        copy_str(b, in, "snapshot_id");
    json_t *vs = json_object_get(in, "volume_size");
    if (vs)
        json_object_set_new(b, "volume_size", json_integer(int_of(vs, 0)));
    if (bi && !json_is_null(bi))
        json_object_set_new(b, "boot_index", json_integer(int_of(bi, -1)));
    json_object_set_new(b, "delete_on_termination",
                        json_boolean(compute_json_bool(
                                         json_object_get(in, "delete_on_termination")) == 1));
    *out = b;
    return 0;
}

/* Nova's BlockDeviceDict.from_legacy. */
static int
bdm_from_legacy(ms_response *resp, const json_t *in, json_t **out)
{
    *out = NULL;
    json_t *b = json_object();
    const char *vn = ms_json_strval(in, "virtual_name");
    bool no_device = json_object_get(in, "no_device") &&
                     !json_is_false(json_object_get(in, "no_device")) &&
                     !json_is_null(json_object_get(in, "no_device"));
    if (vn && (!strcmp(vn, "swap") || !strncmp(vn, "ephemeral", 9))) {
        json_object_set_new(b, "source_type", json_string("blank"));
        json_object_set_new(b, "destination_type", json_string("local"));
        json_object_set_new(b, "delete_on_termination", json_true());
        if (!strcmp(vn, "swap"))
            json_object_set_new(b, "guest_format", json_string("swap"));
    } else if (ms_json_strval(in, "snapshot_id")) {
        json_object_set_new(b, "source_type", json_string("snapshot"));
        json_object_set_new(b, "destination_type", json_string("volume"));
    } else if (ms_json_strval(in, "volume_id")) {
        json_object_set_new(b, "source_type", json_string("volume"));
        json_object_set_new(b, "destination_type", json_string("volume"));
    } else if (no_device) {
        json_object_set_new(b, "no_device", json_true());
    } else {
        json_decref(b);
        return bdm_invalid(resp, "Unrecognized legacy format.");
    }
    copy_str(b, in, "device_name");
    copy_str(b, in, "volume_id");
    copy_str(b, in, "snapshot_id");
    json_t *vs = json_object_get(in, "volume_size");
    if (vs)
        json_object_set_new(b, "volume_size", json_integer(int_of(vs, 0)));
    if (!json_object_get(b, "delete_on_termination"))
        json_object_set_new(b, "delete_on_termination",
                            json_boolean(compute_json_bool(json_object_get(
                                             in, "delete_on_termination")) == 1));
    *out = b;
    return 0;
}

static bool
bdm_is(const json_t *b, const char *src, const char *dst)
{
    return ms_streq(ms_json_strval(b, "source_type"), src) &&
           ms_streq(ms_json_strval(b, "destination_type"), dst);
}

static bool
bdm_is_swap(const json_t *b)
{
    return bdm_is(b, "blank", "local") && ms_streq(ms_json_strval(b, "guest_format"), "swap");
}

static bool
bdm_is_ephemeral(const json_t *b)
{
    return bdm_is(b, "blank", "local") && !ms_streq(ms_json_strval(b, "guest_format"), "swap");
}

static const char *
strip_dev(const char *s)
{
    return s && !strncmp(s, "/dev/", 5) ? s + 5 : s;
}

/* Nova's _validate_bdm, after the volumes were looked up. */
static int
bdm_validate(ms_request *req, ms_response *resp, json_t *list, const char *image_id,
             const compute_flavor *f)
{
    /* Boot indexes must run 0, 1, 2... with at least one. */
    long long idx[64];
    size_t ni = 0;
    size_t k;
    json_t *b;
    json_array_foreach(list, k, b) {
        json_t *bi = json_object_get(b, "boot_index");
        if (json_is_integer(bi) && json_integer_value(bi) >= 0 && ni < MS_ARRAY_LEN(idx))
            idx[ni++] = json_integer_value(bi);
    }
    for (size_t a = 1; a < ni; a++) {
        for (size_t c = a; c > 0 && idx[c - 1] > idx[c]; c--) {
            long long t = idx[c];
            idx[c] = idx[c - 1];
            idx[c - 1] = t;
        }
    }
    bool seq_ok = ni > 0;
    for (size_t a = 0; a < ni; a++)
        seq_ok = seq_ok && idx[a] == (long long)a;
    if (!seq_ok)
        return bdm_invalid(resp, "Boot sequence for the instance and image/block device "
                                 "mapping combination is not valid.");
    json_array_foreach(list, k, b) {
        const char *img = ms_json_strval(b, "image_id");
        const char *snap = ms_json_strval(b, "snapshot_id");
        json_t *vs = json_object_get(b, "volume_size");
        bool has_size = json_is_integer(vs) && json_integer_value(vs) > 0;
        if (img) {
            if (!ms_streq(img, image_id)) {
                ms_image_info info;
                int rc = ms_image_get(&req->auth, img, &info);
                if (rc == -EAGAIN)
                    return rc;
                if (rc < 0) {
                    ms_resp_error(resp, 400, "Block Device Mapping is Invalid: failed to get "
                                             "image %s.", img);
                    return INVALID;
                }
                ms_image_info_clear(&info);
            }
            if (bdm_is(b, "image", "volume") && !has_size) {
                ms_resp_error(resp, 400, "Images with destination_type 'volume' need to have "
                                         "a non-zero size specified");
                return INVALID;
            }
        } else if (ms_json_strval(b, "volume_id")) {
            /* Looked up before; a volume service checks the attachment. */
        } else if (snap) {
            long long size = 0;
            int rc = ms_volume_snapshot_get(&req->auth, snap, &size);
            if (rc < 0) {
                ms_resp_error(resp, 400, "Block Device Mapping is Invalid: failed to get "
                                         "snapshot %s.", snap);
                return INVALID;
            }
            if (!has_size)
                json_object_set_new(b, "volume_size", json_integer(size));
        } else if (bdm_is(b, "blank", "volume") && !has_size) {
            ms_resp_error(resp, 400, "Blank volumes (source: 'blank', dest: 'volume') need to "
                                     "have non-zero size");
            return INVALID;
        }
        const char *bus = ms_json_strval(b, "disk_bus");
        static const char *const buses[] = {"fdc", "ide", "sata", "scsi", "usb",
                                            "virtio", "xen", "lxc", "uml"};
        bool bus_ok = !bus;
        for (size_t a = 0; !bus_ok && a < MS_ARRAY_LEN(buses); a++)
            bus_ok = !strcmp(bus, buses[a]);
        if (!bus_ok) {
            /* Nova's InvalidBDMDiskBus misspells its format, so the generic text shows. */
            ms_resp_error(resp, 400, "Block Device Mapping is Invalid.");
            return INVALID;
        }
    }
    long long eph = 0;
    int nswap = 0, nlocal = 0;
    long long swap_size = 0;
    json_array_foreach(list, k, b) {
        json_t *vs = json_object_get(b, "volume_size");
        long long size = json_is_integer(vs) ? json_integer_value(vs) : 0;
        if (bdm_is_ephemeral(b))
            eph += size ? size : f->ephemeral_gb;
        if (bdm_is_swap(b) && nswap++ == 0)
            swap_size = size;
        if (ms_streq(ms_json_strval(b, "destination_type"), "local"))
            nlocal++;
    }
    if (eph > f->ephemeral_gb) {
        ms_resp_error(resp, 400, "Ephemeral disks requested are larger than the instance type "
                                 "allows. If no size is given in one block device mapping, "
                                 "flavor ephemeral size will be used.");
        return INVALID;
    }
    if (nswap > 1)
        return bdm_invalid(resp, "More than one swap drive requested.");
    /* Nova compares the swap size with the flavor's swap MiB as they are. */
    if (nswap && swap_size > f->swap) {
        ms_resp_error(resp, 400, "Swap drive requested is larger than instance type allows.");
        return INVALID;
    }
    /* Nova's [DEFAULT] max_local_block_devices default. */
    if (nlocal > 3) {
        return bdm_invalid(resp, "You specified more local devices than the limit allows");
    }
    return 0;
}

int
compute_create_bdms(ms_request *req, ms_response *resp, const json_t *srv,
                    const char *image_id, const compute_flavor *f, long long max_count,
                    json_t **out)
{
    *out = NULL;
    json_t *legacy = json_object_get(srv, "block_device_mapping");
    json_t *v2 = json_object_get(srv, "block_device_mapping_v2");
    int rc;
    if (legacy && (rc = bdm_schema(req, resp, "block_device_mapping", legacy, false)) < 0)
        return rc;
    if (v2 && (rc = bdm_schema(req, resp, "block_device_mapping_v2", v2, true)) < 0)
        return rc;
    if (json_array_size(legacy) && json_array_size(v2)) {
        ms_resp_error(resp, 400, "Using different block_device_mapping syntaxes is not "
                                 "allowed in the same request.");
        return INVALID;
    }
    json_t *list = json_array();
    size_t k;
    json_t *item, *b;
    if (json_array_size(v2)) {
        json_array_foreach(v2, k, item) {
            if ((rc = bdm_from_api(resp, item, json_object_get(srv, "imageRef") != NULL,
                                   &b)) < 0)
                goto fail;
            json_array_append_new(list, b);
        }
    } else {
        /* Legacy (or none): Nova's from_legacy_mapping with root "vda". */
        bool volume_backed = false;
        json_array_foreach(legacy, k, item) {
            if ((rc = bdm_from_legacy(resp, item, &b)) < 0)
                goto fail;
            const char *src = ms_json_strval(b, "source_type");
            if (src && strcmp(src, "blank") &&
                ms_streq(strip_dev(ms_json_strval(b, "device_name")), "vda")) {
                json_object_set_new(b, "boot_index", json_integer(0));
                volume_backed = true;
            } else if (!json_is_true(json_object_get(b, "no_device"))) {
                json_object_set_new(b, "boot_index", json_integer(-1));
            }
            json_array_append_new(list, b);
        }
        if (!volume_backed && image_id[0])
            json_array_insert_new(list, 0,
                                  json_pack("{s:s,s:s,s:s,s:i,s:b}", "source_type", "image",
                                            "destination_type", "local", "image_id", image_id,
                                            "boot_index", 0, "delete_on_termination", 1));
    }
    bool volumes = false;
    json_array_foreach(list, k, b)
        volumes = volumes || ms_streq(ms_json_strval(b, "source_type"), "volume");
    if (volumes && max_count > 1) {
        ms_resp_error(resp, 400, "Cannot attach one or more volumes to multiple instances");
        rc = INVALID;
        goto fail;
    }
    bool has_eph = false, has_swap = false;
    json_array_foreach(list, k, b) {
        has_eph = has_eph || bdm_is_ephemeral(b);
        has_swap = has_swap || bdm_is_swap(b);
    }
    if (f->ephemeral_gb && !has_eph)
        json_array_append_new(list, blank_bdm(f->ephemeral_gb, NULL));
    if (f->swap && !has_swap)
        json_array_append_new(list, blank_bdm(f->swap, "swap"));
    /* Nova fetches every named volume before validating the mapping. */
    json_array_foreach(list, k, b) {
        const char *vol = ms_json_strval(b, "volume_id");
        if (!vol)
            continue;
        ms_volume_info info;
        rc = ms_volume_get(&req->auth, vol, &info);
        if (rc == -ENOENT) {
            ms_resp_error(resp, 400, "Volume %s could not be found.", vol);
            rc = INVALID;
        }
        if (rc < 0)
            goto fail;
        json_object_set_new(b, "volume_size", json_integer(info.size_gb));
    }
    if ((rc = bdm_validate(req, resp, list, image_id, f)) < 0)
        goto fail;
    *out = list;
    return 0;
fail:
    json_decref(list);
    return rc;
}
