/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __STORAGE_FREE_TRACKER_H
#define __STORAGE_FREE_TRACKER_H

#define LIVE_MAX_ENTRIES (1 << 17)

#endif
