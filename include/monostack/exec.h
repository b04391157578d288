/* Host commands (ip, iptables-restore, lvcreate, tgtadm, qemu-img, dnsmasq)
 * run only through here: an argv array, never a shell, with a timeout and
 * captured output. In dry-run mode nothing runs; each argv is recorded (and
 * stdin too) so unit tests compare them with golden files. */
#ifndef MONOSTACK_EXEC_H
#define MONOSTACK_EXEC_H

#include "common.h"

typedef struct {
    int status;          /* exit status, or -1 if killed/timed out */
    bool timed_out;
    char *out;           /* captured stdout (NUL-terminated), caller frees via ms_exec_result_free */
    char *err;           /* captured stderr */
} ms_exec_result;

/* Run argv[0] (looked up in PATH) with argv. stdin_data may be NULL.
 * timeout_ms <= 0 means 60 s. Returns 0 when the command ran and exited 0,
 * -ECHILD when it exited non-zero, -ETIMEDOUT, or -errno when it could not
 * start. res may be NULL. */
int ms_exec(const char *const argv[], const char *stdin_data, int timeout_ms,
            ms_exec_result *res);
void ms_exec_result_free(ms_exec_result *res);

/* Dry run: record instead of running; commands "succeed" with empty output. */
void ms_exec_dry_run(bool on);
/* The recorded commands, one per line (argv joined by spaces, stdin after
 * "<<<" lines); caller frees. Clears the record. */
char *ms_exec_dry_run_take(void);

#endif
