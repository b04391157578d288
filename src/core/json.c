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

/* Append n bytes; the room check is inline, as this runs for every token. */
static inline void
put(ms_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap)
        ms_buf_reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void
append_string(ms_buf *b, const char *s, size_t n)
{
    /* What json_dumps escapes: '"', '\\' and control characters; everything
     * else, UTF-8 included, is copied (jansson's strings are valid UTF-8). */
    static const char *const short_esc[0x20] = {
        ['\b'] = "\\b", ['\f'] = "\\f", ['\n'] = "\\n", ['\r'] = "\\r", ['\t'] = "\\t",
    };
    if (b->len + n + 3 > b->cap)
        ms_buf_reserve(b, n + 2);
    b->data[b->len++] = '"';
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        while (i < n && (unsigned char)s[i] >= 0x20 && s[i] != '"' && s[i] != '\\')
            i++;
        put(b, s + start, i - start);
        if (i == n)
            break;
        unsigned char c = (unsigned char)s[i++];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            esc[2] = '\0';
        } else if (short_esc[c]) {
            memcpy(esc, short_esc[c], 3);
        } else {
            snprintf(esc, sizeof(esc), "\\u%04X", c);
        }
        put(b, esc, strlen(esc));
    }
    put(b, "\"", 1);
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
        put(b, "{", 1);
        json_object_keylen_foreach((json_t *)v, k, kn, m) {
            if (!first)
                put(b, ",", 1);
            first = false;
            append_string(b, k, kn);
            put(b, ":", 1);
            ms_json_append(b, m);
        }
        put(b, "}", 1);
        break;
    }
    case JSON_ARRAY:
        put(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                put(b, ",", 1);
            ms_json_append(b, json_array_get(v, i));
        }
        put(b, "]", 1);
        break;
    case JSON_STRING:
        append_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER: {
        /* Digits from the right, without printf; unsigned so that the
         * most negative value negates cleanly. */
        json_int_t iv = json_integer_value(v);
        unsigned long long u = iv < 0 ? 0ULL - (unsigned long long)iv : (unsigned long long)iv;
        char d[24], *e = d + sizeof(d), *p = e;
        do
            *--p = (char)('0' + u % 10);
        while (u /= 10);
        if (iv < 0)
            *--p = '-';
        put(b, p, (size_t)(e - p));
        break;
    }
    case JSON_TRUE:
        put(b, "true", 4);
        break;
    case JSON_FALSE:
        put(b, "false", 5);
        break;
    case JSON_NULL:
        put(b, "null", 4);
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
