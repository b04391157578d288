/* JSON schemas (/v2/schemas/...) and the version documents (/, /versions).
 *
 * glanceclient and the CLI build requests from these schemas (which
 * attributes exist, their types and enums), so they carry Glance's image
 * and member schemas unchanged. The schema text is parsed once at start. */
#include "image.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* The properties of Glance's "image" schema, member names sorted. "stores"
 * is left out: Glance documents it as present only with multiple stores, and
 * glanceclient's --stores option collides with a schema property of that name. */
#define IMAGE_PROPS \
    "\"checksum\":{\"description\":\"md5 hash of image contents.\",\"maxLength\":32,\"readOnly" \
    "\":true,\"type\":[\"null\",\"string\"]}," \
    "\"container_format\":{\"description\":\"Format of the container\",\"enum\":[null,\"ami\",\"" \
    "ari\",\"aki\",\"bare\",\"ovf\",\"ova\",\"docker\",\"compressed\"],\"type\":[\"null\",\"string\"]}," \
    "\"created_at\":{\"description\":\"Date and time of image registration\",\"readOnly\":tru" \
    "e,\"type\":\"string\"}," \
    "\"direct_url\":{\"description\":\"URL to access the image file kept in external store" \
    "\",\"readOnly\":true,\"type\":\"string\"}," \
    "\"disk_format\":{\"description\":\"Format of the disk\",\"enum\":[null,\"ami\",\"ari\",\"aki\"" \
    ",\"vhd\",\"vhdx\",\"vmdk\",\"raw\",\"qcow2\",\"vdi\",\"iso\",\"ploop\"],\"type\":[\"null\",\"string\"]" \
    "}," \
    "\"file\":{\"description\":\"An image file url\",\"readOnly\":true,\"type\":\"string\"}," \
    "\"id\":{\"description\":\"An identifier for the image\",\"pattern\":\"^([0-9a-fA-F]){8}-(" \
    "[0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$\",\"type\":\"st" \
    "ring\"}," \
    "\"locations\":{\"description\":\"A set of URLs to access the image file kept in exter" \
    "nal store\",\"items\":{\"properties\":{\"metadata\":{\"type\":\"object\"},\"url\":{\"maxLength" \
    "\":255,\"type\":\"string\"},\"validation_data\":{\"additionalProperties\":false,\"descript" \
    "ion\":\"Values to be used to populate the corresponding image properties. If the i" \
    "mage status is not 'queued', values must exactly match those already contained i" \
    "n the image properties.\",\"properties\":{\"checksum\":{\"maxLength\":32,\"minLength\":32" \
    ",\"type\":\"string\"},\"os_hash_algo\":{\"maxLength\":64,\"type\":\"string\"},\"os_hash_value" \
    "\":{\"maxLength\":128,\"type\":\"string\"}},\"required\":[\"os_hash_algo\",\"os_hash_value\"]" \
    ",\"type\":\"object\",\"writeOnly\":true}},\"required\":[\"url\",\"metadata\"],\"type\":\"object" \
    "\"},\"type\":\"array\"}," \
    "\"min_disk\":{\"description\":\"Amount of disk space (in GB) required to boot image.\"" \
    ",\"type\":\"integer\"}," \
    "\"min_ram\":{\"description\":\"Amount of ram (in MB) required to boot image.\",\"type\":" \
    "\"integer\"}," \
    "\"name\":{\"description\":\"Descriptive name for the image\",\"maxLength\":255,\"type\":[\"" \
    "null\",\"string\"]}," \
    "\"os_hash_algo\":{\"description\":\"Algorithm to calculate the os_hash_value\",\"maxLen" \
    "gth\":64,\"readOnly\":true,\"type\":[\"null\",\"string\"]}," \
    "\"os_hash_value\":{\"description\":\"Hexdigest of the image contents using the algori" \
    "thm specified by the os_hash_algo\",\"maxLength\":128,\"readOnly\":true,\"type\":[\"null" \
    "\",\"string\"]}," \
    "\"os_hidden\":{\"description\":\"If true, image will not appear in default image list" \
    " response.\",\"type\":\"boolean\"}," \
    "\"owner\":{\"description\":\"Owner of the image\",\"maxLength\":255,\"type\":[\"null\",\"stri" \
    "ng\"]}," \
    "\"protected\":{\"description\":\"If true, image will not be deletable.\",\"type\":\"boole" \
    "an\"}," \
    "\"schema\":{\"description\":\"An image schema url\",\"readOnly\":true,\"type\":\"string\"}," \
    "\"self\":{\"description\":\"An image self url\",\"readOnly\":true,\"type\":\"string\"}," \
    "\"size\":{\"description\":\"Size of image file in bytes\",\"readOnly\":true,\"type\":[\"nul" \
    "l\",\"integer\"]}," \
    "\"status\":{\"description\":\"Status of the image\",\"enum\":[\"queued\",\"saving\",\"active\"" \
    ",\"killed\",\"deleted\",\"uploading\",\"importing\",\"pending_delete\",\"deactivated\"],\"rea" \
    "dOnly\":true,\"type\":\"string\"}," \
    "\"tags\":{\"description\":\"List of strings related to the image\",\"items\":{\"maxLength" \
    "\":255,\"type\":\"string\"},\"type\":\"array\"}," \
    "\"updated_at\":{\"description\":\"Date and time of the last image modification\",\"read" \
    "Only\":true,\"type\":\"string\"}," \
    "\"virtual_size\":{\"description\":\"Virtual size of image in bytes\",\"readOnly\":true,\"" \
    "type\":[\"null\",\"integer\"]}," \
    "\"visibility\":{\"description\":\"Scope of image accessibility\",\"enum\":[\"community\",\"" \
    "public\",\"private\",\"shared\"],\"type\":\"string\"}"

#define MEMBER_PROPS \
    "\"created_at\":{\"description\":\"Date and time of image member creation\",\"type\":\"str" \
    "ing\"}," \
    "\"image_id\":{\"description\":\"An identifier for the image\",\"pattern\":\"^([0-9a-fA-F]" \
    "){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$\",\"typ" \
    "e\":\"string\"}," \
    "\"member_id\":{\"description\":\"An identifier for the image member (tenantId)\",\"type" \
    "\":\"string\"}," \
    "\"schema\":{\"readOnly\":true,\"type\":\"string\"}," \
    "\"status\":{\"description\":\"The status of this image member\",\"enum\":[\"pending\",\"acc" \
    "epted\",\"rejected\"],\"type\":\"string\"}," \
    "\"updated_at\":{\"description\":\"Date and time of last modification of image member\"" \
    ",\"type\":\"string\"}"

#define IMAGE_LINKS                                                                      \
    "[{\"href\":\"{self}\",\"rel\":\"self\"},{\"href\":\"{file}\",\"rel\":\"enclosure\"},"  \
    "{\"href\":\"{schema}\",\"rel\":\"describedby\"}]"
#define COLLECTION_LINKS                                                                 \
    "[{\"href\":\"{first}\",\"rel\":\"first\"},{\"href\":\"{next}\",\"rel\":\"next\"},"    \
    "{\"href\":\"{schema}\",\"rel\":\"describedby\"}]"

static const char image_schema_text[] =
    "{\"additionalProperties\":{\"type\":\"string\"},\"links\":" IMAGE_LINKS
    ",\"name\":\"image\",\"properties\":{" IMAGE_PROPS "}}";
/* Glance serves the member schemas in their minimal form (no
 * additionalProperties, the collection without first/next). */
static const char member_schema_text[] =
    "{\"name\":\"member\",\"properties\":{" MEMBER_PROPS "}}";

static pthread_once_t schemas_once = PTHREAD_ONCE_INIT;
static json_t *image_schema, *images_schema, *member_schema, *members_schema;

static json_t *
collection(const char *name, const char *item_key, json_t *item, bool minimal)
{
    json_t *c = minimal ? json_loads("[{\"href\":\"{schema}\",\"rel\":\"describedby\"}]", 0,
                                     NULL)
                        : json_loads(COLLECTION_LINKS, 0, NULL);
    json_t *o = json_object();
    json_object_set_new(o, "links", c);
    json_object_set_new(o, "name", json_string(name));
    json_t *props = json_object();
    if (!minimal)
        json_object_set_new(props, "first", json_pack("{s:s}", "type", "string"));
    json_object_set_new(props, item_key, json_pack("{s:O,s:s}", "items", item, "type", "array"));
    if (!minimal)
        json_object_set_new(props, "next", json_pack("{s:s}", "type", "string"));
    json_object_set_new(props, "schema", json_pack("{s:s}", "type", "string"));
    json_object_set_new(o, "properties", props);
    return o;
}

static void
schemas_load(void)
{
    json_error_t e;
    image_schema = json_loads(image_schema_text, 0, &e);
    member_schema = json_loads(member_schema_text, 0, &e);
    if (!image_schema || !member_schema)
        abort();   /* the text above is fixed: a parse failure is a build bug */
    images_schema = collection("images", "images", image_schema, false);
    members_schema = collection("members", "members", member_schema, true);
}

static int
send_schema(ms_response *resp, json_t **which)
{
    pthread_once(&schemas_once, schemas_load);
    ms_resp_json(resp, 200, json_incref(*which));
    return 0;
}

int
image_schema_image(ms_request *req, ms_response *resp)
{
    (void)req;
    return send_schema(resp, &image_schema);
}

int
image_schema_images(ms_request *req, ms_response *resp)
{
    (void)req;
    return send_schema(resp, &images_schema);
}

int
image_schema_member(ms_request *req, ms_response *resp)
{
    (void)req;
    return send_schema(resp, &member_schema);
}

int
image_schema_members(ms_request *req, ms_response *resp)
{
    (void)req;
    return send_schema(resp, &members_schema);
}

/* Glance (no image cache, one store) lists v2.15 as CURRENT, then the
 * supported older v2 minor versions; all point at /v2/. */
static json_t *
versions_doc(ms_request *req)
{
    static const char *const ids[] = {"v2.15", "v2.9", "v2.7", "v2.6", "v2.5", "v2.4",
                                      "v2.3", "v2.2", "v2.1", "v2.0"};
    char href[400];
    snprintf(href, sizeof(href), "%s/v2/", ms_req_base_url(req));
    json_t *list = json_array();
    for (size_t i = 0; i < MS_ARRAY_LEN(ids); i++)
        json_array_append_new(list, json_pack("{s:s,s:s,s:[{s:s,s:s}]}", "id", ids[i], "status",
                                              i == 0 ? "CURRENT" : "SUPPORTED", "links", "rel",
                                              "self", "href", href));
    return json_pack("{s:o}", "versions", list);
}

int
image_versions(ms_request *req, ms_response *resp)
{
    ms_resp_json(resp, 300, versions_doc(req));
    return 0;
}

int
image_versions_explicit(ms_request *req, ms_response *resp)
{
    ms_resp_json(resp, 200, versions_doc(req));
    return 0;
}
