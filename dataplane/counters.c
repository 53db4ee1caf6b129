/* SPDX-License-Identifier: BSD-3-Clause */
/* Names and descriptions of the drop reasons, from the one X-macro list. */
#include "dataplane/counters.h"

const char *const eph_drop_names[EPH_DROP_MAX] = {
#define EPH_DROP_NAME(name, desc) [EPH_DROP_##name] = #name,
	EPH_DROP_REASONS(EPH_DROP_NAME)
#undef EPH_DROP_NAME
};

const char *const eph_drop_descs[EPH_DROP_MAX] = {
#define EPH_DROP_DESC(name, desc) [EPH_DROP_##name] = desc,
	EPH_DROP_REASONS(EPH_DROP_DESC)
#undef EPH_DROP_DESC
};
