/* Typed access to request JSON, for handlers' input validation. The getters
 * return 0 with *out set, -ENOENT when the key is absent or null, and
 * -EINVAL when the value has the wrong type, so handlers can answer 400
 * with the field's name. */
#ifndef MONOSTACK_JSON_H
#define MONOSTACK_JSON_H

#include <jansson.h>

#include "common.h"

int ms_json_str(const json_t *obj, const char *key, const char **out);
int ms_json_bool(const json_t *obj, const char *key, bool *out);
int ms_json_int(const json_t *obj, const char *key, long long *out);
/* The object under key, or NULL when absent or not an object. */
json_t *ms_json_obj(const json_t *obj, const char *key);
/* A string member, or NULL when absent or not a string. */
const char *ms_json_strval(const json_t *obj, const char *key);

/* Set key to a string, or JSON null when s is NULL. */
void ms_json_set_str(json_t *obj, const char *key, const char *s);

/* Append v as compact JSON text to b: the bytes json_dumps(v, JSON_COMPACT)
 * gives, several times faster (jansson re-validates UTF-8 a code point at a
 * time while dumping; its strings are valid UTF-8 already). For large
 * replies built piece by piece. */
void ms_json_append(ms_buf *b, const json_t *v);

#endif
