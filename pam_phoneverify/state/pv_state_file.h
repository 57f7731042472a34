/* pv_state_file.h - the file backend (one file per user under state_dir,
 * pam_phoneverify.conf(5) STATE). */
#ifndef PV_STATE_FILE_H
#define PV_STATE_FILE_H

#include "state/pv_state.h"

/* The file backend, as pv_state_open calls it for `state = file`:
 * dir is state_dir (absolute; created 0700 when missing). */
int pv_state_file_open(const char *dir, pv_state **out, pv_err *err);

#endif
