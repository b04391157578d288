/* Typed getters over jansson objects for handler input validation. */
#include <monostack/json.h>

#include <errno.h>

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
