/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* A container's cgroup limits (the policy's keys memory_max ... io_weight):
 * what the policy resolves, what the supervisor writes, and what it tells
 * nsiso show, by name. */
#define CG_UNLIMITED UINT64_MAX

struct cg_limits {
	uint64_t memory_max;  /* bytes or CG_UNLIMITED */
	uint64_t memory_high; /* bytes or CG_UNLIMITED */
	uint64_t pids_max;    /* or CG_UNLIMITED */
	uint64_t cpu_quota;   /* us per period, or CG_UNLIMITED */
	uint64_t cpu_period;  /* us */
	uint32_t cpu_weight;  /* 1..10000, 100 is the kernel's default */
	uint32_t io_weight;   /* 1..10000; 0: not set */
	uint32_t cpus;	      /* CPUs the container may run on (cpuset); 0: all of the host's */
	uint32_t reserved;
};
