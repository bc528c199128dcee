/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Devices (policy key devices = PATH...): which host device nodes a
 * container gets, and the device filter that allows only those and the
 * few every container has.
 *
 * The supervisor resolves the policy's paths and globs once, on the host's
 * /dev, before the container exists (devices_resolve); the container's
 * /dev gets exactly those nodes (mounts.c, from the same list, each checked
 * to be the same device when it is opened again), and a BPF device program
 * on the container's cgroup v2 group (devices_filter) allows read and write
 * of exactly those devices and the standard ones, and mknod of none: a
 * node that reaches the container another way (a bind mount, a nested user
 * namespace, a device a tenant made) is refused by the kernel with EPERM.
 * cgroup v2's device control is that program (BPF_CGROUP_DEVICE); it is
 * attached with BPF_F_ALLOW_MULTI, so a program systemd put on the scope
 * (DeviceAllow=) still applies as well: the kernel allows what all allow. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "helper.h"
#include "util.h"

int devices_resolve(const char *patterns, struct dev_list *out, struct nsiso_error *f)
{
	char buf[POLICY_DEVICES_MAX];
	char *save = NULL;
	out->n = 0;
	snprintf(buf, sizeof(buf), "%s", patterns);
	for (char *w = strtok_r(buf, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		glob_t g;
		/* (no match is no device: /dev/nvidia* on a host without one) */
		int r = glob(w, GLOB_NOSORT | GLOB_NOESCAPE, NULL, &g);
		if (r == GLOB_NOMATCH)
			continue;
		if (r != 0)
			return error_at(f, STEP_MOUNT, -EIO, "looking up the devices %s", w);
		for (size_t i = 0; i < g.gl_pathc; i++) {
			const char *p = g.gl_pathv[i];
			struct stat st;
			/* Only device nodes themselves, directly named: a symlink
			 * (by-id, by-path) or anything else is not a device here. */
			if (strncmp(p, "/dev/", 5) != 0 || strstr(p, "/../") || lstat(p, &st) < 0 ||
			    !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
				continue;
			bool dup = false;
			for (size_t k = 0; k < out->n && !dup; k++)
				dup = strcmp(out->d[k].path, p) == 0;
			if (dup)
				continue;
			if (out->n == DEVICES_MAX || strlen(p) >= sizeof(out->d[0].path)) {
				globfree(&g);
				return error_at(f, STEP_MOUNT, -E2BIG,
						"devices = %s: more than %d devices or a path too long", w,
						DEVICES_MAX);
			}
			snprintf(out->d[out->n].path, sizeof(out->d[0].path), "%s", p);
			out->d[out->n].type = st.st_mode & S_IFMT;
			out->d[out->n].rdev = st.st_rdev;
			out->n++;
		}
		globfree(&g);
	}
	return 0;
}

/* ---- the BPF device program ------------------------------------------------ */

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

/* What every container has (mounts.c's dev_nodes and its devpts): read and
 * write, never mknod. Majors lo..hi (the same for one device), minor -1:
 * any minor. */
static const struct {
	unsigned lo, hi;
	int minor;
} standard[] = {
	{ 1, 1, 3 },	  { 1, 1, 5 }, { 1, 1, 7 }, { 1, 1, 8 }, { 1, 1, 9 }, /* null zero full random urandom */
	{ 5, 5, 0 },	  { 5, 5, 2 },					      /* tty, ptmx (also pts/ptmx) */
	{ 136, 143, -1 },						      /* the devpts slaves */
};

#define RULES_MAX (DEVICES_MAX + 16)
#define INSNS_PER_RULE 10

/* One rule: type, majors lo..hi, minor (-1 any): a match allows, else on to
 * the next rule (the jumps count from the instruction after them).
 *
 * Each rule reads the context again (r3 = type, the low 16 bits of
 * access_type, r4 = major, r5 = minor: struct bpf_cgroup_dev_ctx): then no
 * register is live where the rules meet, and the verifier, which walks
 * both sides of every comparison, finds one state at each rule's start
 * and prunes the rest. With the registers carried from rule to rule each
 * failed comparison left another known value behind, and loading the
 * program took 0.7 ms of every container's start (docs/PERFORMANCE.md,
 * tenth session). */
static size_t rule(struct bpf_insn *p, short type, unsigned lo, unsigned hi, int minor)
{
	size_t n = 0;
	p[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_3, BPF_REG_1, 0, 0);
	p[n++] = INSN(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_3, 0, 0, 0xffff);
	p[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_4, BPF_REG_1, 4, 0);
	p[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_5, BPF_REG_1, 8, 0);
	/* instructions after the first comparison, to the next rule */
	short left = (short)(3 + (lo != hi) + (minor >= 0));
	p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_3, 0, left--, type);
	if (lo == hi) {
		p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, left--, (int)lo);
	} else {
		p[n++] = INSN(BPF_JMP | BPF_JLT | BPF_K, BPF_REG_4, 0, left--, (int)lo);
		p[n++] = INSN(BPF_JMP | BPF_JGT | BPF_K, BPF_REG_4, 0, left--, (int)hi);
	}
	if (minor >= 0)
		p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, left--, minor);
	p[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
	p[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	return n;
}

int devices_filter(int group_dir, const struct dev_list *devs, struct nsiso_error *f)
{
	static struct bpf_insn prog[3 + RULES_MAX * INSNS_PER_RULE + 2];
	size_t n = 0;
	/* Read and write only, of any device: an access with another bit
	 * (mknod) matches no rule (r2 = access, the high 16 bits). */
	prog[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 0, 0);
	prog[n++] = INSN(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_2, 0, 0,
			 (int)((unsigned)~(BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE) << 16));
	prog[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0, 0);
	size_t deny_jump = n - 1; /* (its offset, once the rules' length is known) */
	for (size_t i = 0; i < ARRAY_SIZE(standard); i++)
		n += rule(prog + n, BPF_DEVCG_DEV_CHAR, standard[i].lo, standard[i].hi, standard[i].minor);
	for (size_t i = 0; i < devs->n; i++)
		n += rule(prog + n, devs->d[i].type == S_IFBLK ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR,
			  major(devs->d[i].rdev), major(devs->d[i].rdev), (int)minor(devs->d[i].rdev));
	/* nothing else */
	prog[deny_jump].off = (short)(n - deny_jump - 1);
	prog[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
	prog[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);

	union bpf_attr load = { 0 };
	load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	load.insns = (uint64_t)(uintptr_t)prog;
	load.insn_cnt = (uint32_t)n;
	load.license = (uint64_t)(uintptr_t) "LGPL";
	snprintf(load.prog_name, sizeof(load.prog_name), "nsiso_devices");
	_cleanup_close_ int fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load));
	if (fd < 0)
		return error_at(f, STEP_CGROUP, neg_errno(), "loading the device filter (BPF_PROG_TYPE_CGROUP_DEVICE)");
	union bpf_attr attach = { 0 };
	attach.target_fd = (uint32_t)group_dir;
	attach.attach_bpf_fd = (uint32_t)fd;
	attach.attach_type = BPF_CGROUP_DEVICE;
	attach.attach_flags = BPF_F_ALLOW_MULTI;
	if (syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof(attach)) < 0)
		return error_at(f, STEP_CGROUP, neg_errno(), "attaching the device filter to the container's group");
	/* (the group holds the program now; it goes with the group) */
	return 0;
}
