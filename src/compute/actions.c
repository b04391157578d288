/* POST /servers/{id}/action: one table says, for each action, which
 * vm_states allow it (Nova's check_instance_state; anything else is 409),
 * the task_state it sets and the worker task that finishes it. Lock,
 * unlock, console output and os-resetState complete in the API. */
#include "compute.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <monostack/config.h>

typedef struct {
    const char *name;             /* body key */
    const char *action;           /* instance action recorded */
    const char *vm_states[6];     /* allowed; empty = any */
    const char *task_state;       /* set while the worker runs */
    const char *task;             /* task type */
    bool admin;
} action_rule;

static const action_rule rules[] = {
    {"os-stop", "stop", {"active", "error"}, "powering-off", "power_off", false},
    {"os-start", "start", {"stopped"}, "powering-on", "power_on", false},
    {"pause", "pause", {"active"}, "pausing", "pause", false},
    {"unpause", "unpause", {"paused"}, "unpausing", "unpause", false},
    {"suspend", "suspend", {"active"}, "suspending", "suspend", false},
    {"resume", "resume", {"suspended"}, "resuming", "resume", false},
};

static void
invalid_state(ms_response *resp, const char *action, const compute_instance *i)
{
    if (i->task_state[0])
        ms_resp_error(resp, 409, "Cannot '%s' instance %s while it is in task_state %s",
                      action, i->uuid, i->task_state);
    else
        ms_resp_error(resp, 409, "Cannot '%s' instance %s while it is in vm_state %s", action,
                      i->uuid, i->vm_state);
}

static bool
state_allowed(const char *const *states, const char *vm)
{
    if (!states[0])
        return true;
    for (int k = 0; k < 6 && states[k]; k++) {
        if (!strcmp(states[k], vm))
            return true;
    }
    return false;
}

static int
run_action(ms_request *req, ms_response *resp, compute_instance *i, const char *action,
           const char *const *vm_states, const char *task_state, const char *task,
           json_t *extra)
{
    if (!state_allowed(vm_states, i->vm_state) || i->task_state[0]) {
        invalid_state(resp, action, i);
        return 0;
    }
    json_t *payload = json_pack("{s:s}", "request_id", req->request_id);
    if (extra)
        json_object_update(payload, extra);
    long long tid = 0;
    const char *host = i->host[0] ? i->host : ms_conf.host;
    int rc = compute_instance_db_action(i->uuid, vm_states[0] ? vm_states : NULL, NULL,
                                        task_state, task, payload, host, action,
                                        req->request_id, req->auth.user_id,
                                        req->auth.project_id, &tid);
    json_decref(payload);
    if (rc == -EBUSY) {
        /* The state changed under us: answer as Nova does for the new state. */
        compute_instance now;
        if (compute_instance_db_get(i->uuid, false, &now) == 0) {
            invalid_state(resp, action, &now);
            compute_instance_clear(&now);
        } else {
            invalid_state(resp, action, i);
        }
        return 0;
    }
    if (rc < 0)
        return rc;
    ms_task_publish("compute", host, tid);
    ms_resp_empty(resp, 202);
    return 0;
}

static int
console_output(ms_request *req, ms_response *resp, compute_instance *i, json_t *arg)
{
    long long length = -1;
    json_t *l = json_is_object(arg) ? json_object_get(arg, "length") : NULL;
    if (l && !json_is_null(l)) {
        if (!compute_json_intlike(l, &length) && !(json_is_integer(l) && (length = json_integer_value(l)) >= -1)) {
            compute_bad_field(resp, "length", l, "is not of type 'integer', 'string'");
            return 0;
        }
    }
    (void)req;
    if (!strcmp(i->vm_state, "building") || !i->host[0]) {
        ms_resp_error(resp, 409, "Cannot 'get_console_output' instance %s while it is in "
                                 "vm_state %s",
                      i->uuid, i->vm_state);
        return 0;
    }
    char *path = compute_console_log_path(i->uuid);
    FILE *fp = fopen(path, "r");
    free(path);
    ms_buf b = {0};
    if (fp) {
        char buf[65536];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
            ms_buf_add(&b, buf, n);
        fclose(fp);
    }
    const char *text = b.len ? ms_buf_cstr(&b) : "";
    /* Keep the last `length` lines, as Nova does. */
    if (length >= 0 && b.len) {
        size_t end = b.len;
        if (end && text[end - 1] == '\n')
            end--;
        long long lines = 0;
        size_t pos = end;
        while (pos > 0) {
            if (text[pos - 1] == '\n' && ++lines == length)
                break;
            pos--;
        }
        text += (length == 0) ? b.len : pos;
    }
    ms_resp_json(resp, 200, json_pack("{s:s}", "output", text));
    ms_buf_free(&b);
    return 0;
}

int
compute_server_action(ms_request *req, ms_response *resp)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    if (json_object_size(body) != 1) {
        ms_resp_error(resp, 400, "Malformed request body");
        return 0;
    }
    void *it = json_object_iter(body);
    const char *name = json_object_iter_key(it);
    json_t *arg = json_object_iter_value(it);
    compute_instance i;
    int rc = compute_server_lookup(req, resp, &i);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    bool admin = req->auth.is_admin;
    if (i.locked && !admin && strcmp(name, "lock") && strcmp(name, "unlock") &&
        strcmp(name, "os-getConsoleOutput")) {
        ms_resp_error(resp, 409, "Instance %s is locked", i.uuid);
        goto done;
    }
    for (size_t k = 0; k < MS_ARRAY_LEN(rules); k++) {
        if (!strcmp(rules[k].name, name)) {
            rc = run_action(req, resp, &i, rules[k].action, rules[k].vm_states,
                            rules[k].task_state, rules[k].task, NULL);
            goto done;
        }
    }
    if (!strcmp(name, "reboot")) {
        const char *type = json_is_object(arg) ? ms_json_strval(arg, "type") : NULL;
        if (!type || (strcasecmp(type, "SOFT") && strcasecmp(type, "HARD"))) {
            compute_bad_field(resp, "type", json_is_object(arg) ? json_object_get(arg, "type")
                                                                : NULL,
                              "is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']");
            goto done;
        }
        bool hard = !strcasecmp(type, "HARD");
        static const char *const soft_ok[6] = {"active"};
        static const char *const hard_ok[6] = {"active", "stopped", "paused", "suspended",
                                               "error"};
        json_t *extra = json_pack("{s:b}", "hard", hard);
        rc = run_action(req, resp, &i, "reboot", hard ? hard_ok : soft_ok,
                        hard ? "rebooting_hard" : "rebooting", "reboot", extra);
        json_decref(extra);
    } else if (!strcmp(name, "lock") || !strcmp(name, "unlock")) {
        bool lock = !strcmp(name, "lock");
        if (!lock && i.locked && !admin && !strcmp(i.locked_by, "admin")) {
            ms_resp_error(resp, 403, "Policy doesn't allow os_compute_api:os-lock-server:"
                                     "unlock:unlock_override to be performed.");
            goto done;
        }
        rc = compute_instance_db_lock(i.uuid, lock, lock ? (admin ? "admin" : "owner") : NULL);
        if (rc == 0)
            ms_resp_empty(resp, 202);
    } else if (!strcmp(name, "os-getConsoleOutput")) {
        rc = console_output(req, resp, &i, arg);
    } else if (!strcmp(name, "os-resetState")) {
        if (!admin) {
            ms_resp_error(resp, 403, "Policy doesn't allow os_compute_api:os-admin-actions:"
                                     "reset_state to be performed.");
            goto done;
        }
        const char *st = json_is_object(arg) ? ms_json_strval(arg, "state") : NULL;
        if (!st || (strcmp(st, "active") && strcmp(st, "error"))) {
            compute_bad_field(resp, "state",
                              json_is_object(arg) ? json_object_get(arg, "state") : NULL,
                              "is not one of ['active', 'error']");
            goto done;
        }
        rc = compute_instance_db_set(i.uuid, st, NULL, -1);
        if (rc == 0)
            ms_resp_empty(resp, 202);
    } else {
        ms_resp_error(resp, 400, "There is no such action: %s", name);
    }
done:
    compute_instance_clear(&i);
    return rc;
}
