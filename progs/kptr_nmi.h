/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __KPTR_NMI_H
#define __KPTR_NMI_H

#define KPTR_POOL_SIZE 64

/* The verifier message of kernels whose task and cgroup kptr destructors
 * are not NMI-safe.
 */
#define NMI_UNSAFE_DROP_MSG "cannot be used in tracing programs on types with NMI unsafe fields"

#endif
