/* Typed getters over jansson objects for handler input validation. */
#include <monostack/json.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static json_t *
member(const json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_null(v) ? NULL : v;
}

int
ms_json_str(const json_t *obj, const char *key, const char **out)
{
    json_t *v = member(obj, key);
    if (!v)
        return -ENOENT;
    if (!json_is_string(v))
        return -EINVAL;
    *out = json_string_value(v);
    return 0;
}

int
ms_json_bool(const json_t *obj, const char *key, bool *out)
{
    json_t *v = member(obj, key);
    if (!v)
        return -ENOENT;
    if (!json_is_boolean(v))
        return -EINVAL;
    *out = json_is_true(v);
    return 0;
}

int
ms_json_int(const json_t *obj, const char *key, long long *out)
{
    json_t *v = member(obj, key);
    if (!v)
        return -ENOENT;
    if (!json_is_integer(v))
        return -EINVAL;
    *out = json_integer_value(v);
    return 0;
}

json_t *
ms_json_obj(const json_t *obj, const char *key)
{
    json_t *v = member(obj, key);
    return json_is_object(v) ? v : NULL;
}

const char *
ms_json_strval(const json_t *obj, const char *key)
{
    json_t *v = member(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

void
ms_json_set_str(json_t *obj, const char *key, const char *s)
{
    json_object_set_new(obj, key, s ? json_string(s) : json_null());
}

/* Bytes json_dumps writes as they are in a string (controls, '"' and '\\'
 * are escaped; everything else, UTF-8 included, is copied). */
static bool
plain_byte(unsigned char c)
{
    return c >= 0x20 && c != '"' && c != '\\';
}

static void
append_string(ms_buf *b, const char *s, size_t n)
{
    ms_buf_reserve(b, n + 2);
    b->data[b->len++] = '"';
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        while (i < n && plain_byte((unsigned char)s[i]))
            i++;
        if (i > start)
            ms_buf_add(b, s + start, i - start);
        if (i == n)
            break;
        unsigned char c = (unsigned char)s[i++];
        char esc[8];
        switch (c) {
        case '\\': memcpy(esc, "\\\\", 3); break;
        case '"': memcpy(esc, "\\\"", 3); break;
        case '\b': memcpy(esc, "\\b", 3); break;
        case '\f': memcpy(esc, "\\f", 3); break;
        case '\n': memcpy(esc, "\\n", 3); break;
        case '\r': memcpy(esc, "\\r", 3); break;
        case '\t': memcpy(esc, "\\t", 3); break;
        default: snprintf(esc, sizeof(esc), "\\u%04X", c); break;
        }
        ms_buf_adds(b, esc);
    }
    ms_buf_add(b, "\"", 1);
}

void
ms_json_append(ms_buf *b, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        size_t kn;
        json_t *m;
        bool first = true;
        ms_buf_add(b, "{", 1);
        json_object_keylen_foreach((json_t *)v, k, kn, m) {
            if (!first)
                ms_buf_add(b, ",", 1);
            first = false;
            append_string(b, k, kn);
            ms_buf_add(b, ":", 1);
            ms_json_append(b, m);
        }
        ms_buf_add(b, "}", 1);
        break;
    }
    case JSON_ARRAY:
        ms_buf_add(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                ms_buf_add(b, ",", 1);
            ms_json_append(b, json_array_get(v, i));
        }
        ms_buf_add(b, "]", 1);
        break;
    case JSON_STRING:
        append_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        ms_buf_addf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_TRUE:
        ms_buf_add(b, "true", 4);
        break;
    case JSON_FALSE:
        ms_buf_add(b, "false", 5);
        break;
    case JSON_NULL:
        ms_buf_add(b, "null", 4);
        break;
    default: {
        /* Reals: jansson's own shortest round-trip formatting. */
        char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!t)
            abort();
        ms_buf_adds(b, t);
        free(t);
        break;
    }
    }
}
