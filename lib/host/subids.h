/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Subordinate id ranges allocated by nsiso for users who have none in
 * /etc/subuid and /etc/subgid (directory users: [global] subids = auto).
 *
 * The registry is NSISO_STATEDIR/subids, root's (directory 0700, file
 * 0600), one line per allocation: "NAME UID START", each range SUBID_BLOCK
 * ids long and aligned, used for both uids and gids. It is written whole
 * (a temporary name, then rename) under NSISO_STATEDIR/subids.lock and
 * lckpwdf(), so concurrent first logins and shadow's tools never pick
 * overlapping ranges. A range is the user's for good (the same at every
 * login and after a reboot, so that files container root made in the home
 * keep their owners) until `nsiso subids --release` drops the entries of
 * users who no longer exist. */

#define SUBID_BLOCK 65536u
/* The built-in pool, 2245 blocks (users): above SSSD's id-mapping range
 * (ldap_idmap_range 200000-2000200000 by default) and FreeIPA's local id
 * ranges (a random 200000-id block below 2000200000), above systemd's
 * container range (0x00080000-0x6FFFFFFF), below systemd's foreign range
 * (0x7FFE0000) and FreeIPA's subordinate ids (from 2^31). nsiso.conf(5). */
#define SUBIDS_POOL_START 2000224256u /* 30521 * 65536 */
#define SUBIDS_POOL_END 0x7FFDFFFFu   /* 2147352575 */
#define SUBIDS_MAX 65536

struct subid_entry {
	char name[256];
	uint32_t uid;
	uint32_t start;
};

/* The registry's entry for exactly (name, uid): 1 and *start, 0 none, or
 * -errno (an unreadable or malformed registry). */
int subids_lookup(const char *name, uint32_t uid, uint32_t *start);

/* The user's range: the registered one, or a new one from [pool_start,
 * pool_end] that overlaps no /etc/subuid or /etc/subgid range, no other
 * allocation, and whose first id is no user or group NSS knows. 0 and
 * *start, or -errno with the reason in why. */
int subids_allocate(const char *name, uint32_t uid, uint32_t pool_start, uint32_t pool_end, uint32_t *start,
		    struct nsiso_error *e);
/* Set by a caller that knows other sources of ranges (libsubid): true when
 * [base, base + SUBID_BLOCK) meets one of them. */
extern bool (*subids_taken_elsewhere)(uint32_t base);

/* A name the registry can hold: no blank or control character. */
bool subids_name_ok(const char *name);

/* /etc/subuid or /etc/subgid read whole through open_trusted_file(): an
 * absent file is NULL text and 0; unreadable, untrusted, larger than the
 * limit or holding a NUL is -errno with the reason in e. */
int subid_file_read(const char *path, char **text, struct nsiso_error *e);

/* Every entry (n at most max): the count, or -errno. */
int subids_list(struct subid_entry *out, size_t max);

/* Drop the entries of users who no longer exist under that name and uid;
 * the number dropped, or -errno. */
int subids_release_stale(struct nsiso_error *e);

/* The provider that the "subid:" line of /etc/nsswitch.conf names (sssd,
 * FreeIPA...) in src; false for files or no such line. Ranges then come
 * from shadow's libsubid, which loads that provider. */
bool subids_nss_provider(char *src, size_t size);
