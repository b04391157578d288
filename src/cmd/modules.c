/* The modules compiled into monostack, in start order. The core module
 * (task journal tables) comes first; the daemon is this list, nothing more. */
#include <monostack/http.h>

extern const ms_module core_module;
extern const ms_module identity_module;
extern const ms_module image_module;
extern const ms_module compute_module;
extern const ms_module volume_module;
extern const ms_module network_module;
extern const ms_module metadata_module;

const ms_module *const ms_modules[] = {
    &core_module,
    &identity_module,
    &image_module,
    &compute_module,
    &volume_module,
    &network_module,
    &metadata_module,
};
const size_t ms_modules_count = MS_ARRAY_LEN(ms_modules);
