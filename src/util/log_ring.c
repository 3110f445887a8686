/*
 * log_ring.c - the shared ring of the last warning and error lines (log_ring.h).
 * Slot k of the sequence holds 2k+1 in its seq while being written and 2k+2 once
 * written; a reader that finds anything else there (a write under way, a newer
 * line) leaves the slot out. The line itself is copied as atomic words, so that a
 * reader racing a writer reads stale or new words, never undefined ones, and the
 * seq tells which.
 */
#include "util/log_ring.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define WORDS (sizeof(struct log_ring_entry) / sizeof(uint64_t))
_Static_assert(sizeof(struct log_ring_entry) % sizeof(uint64_t) == 0,
    "an entry is a whole number of words");

struct slot {
	_Atomic uint64_t seq;
	_Atomic uint64_t words[WORDS];
};

struct ring {
	_Atomic uint64_t next;        /* the sequence number of the next line */
	struct slot slots[LOG_RING_SLOTS];
};

static struct ring *ring;

int
log_ring_map(void)
{
	void *p = mmap(NULL, sizeof(struct ring), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	/* Fresh anonymous pages are zero: no slot holds a line yet (seq 0). */
	ring = p;
	return 0;
}

void
log_ring_add(enum log_ring_level level, const char *role, int pid, const char *text,
    size_t len)
{
	struct log_ring_entry e;
	uint64_t w[WORDS];
	struct timespec ts;

	if (ring == NULL)
		return;
	memset(&e, 0, sizeof e);
	clock_gettime(CLOCK_REALTIME, &ts);
	e.time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	e.pid = pid;
	e.level = level;
	snprintf(e.role, sizeof e.role, "%s", role);
	if (len > sizeof e.text - 1)
		len = sizeof e.text - 1;
	memcpy(e.text, text, len);
	memcpy(w, &e, sizeof w);

	uint64_t k = atomic_fetch_add_explicit(&ring->next, 1, memory_order_relaxed);
	struct slot *s = &ring->slots[k % LOG_RING_SLOTS];
	atomic_store_explicit(&s->seq, 2 * k + 1, memory_order_relaxed);
	/* The odd seq is seen before any word of the new line. */
	atomic_thread_fence(memory_order_release);
	for (size_t i = 0; i < WORDS; i++)
		atomic_store_explicit(&s->words[i], w[i], memory_order_relaxed);
	atomic_store_explicit(&s->seq, 2 * k + 2, memory_order_release);
}

/* read_slot - line k into *out when its slot holds it, whole. */
static bool
read_slot(uint64_t k, struct log_ring_entry *out)
{
	struct slot *s = &ring->slots[k % LOG_RING_SLOTS];
	uint64_t w[WORDS];

	if (atomic_load_explicit(&s->seq, memory_order_acquire) != 2 * k + 2)
		return false;
	for (size_t i = 0; i < WORDS; i++)
		w[i] = atomic_load_explicit(&s->words[i], memory_order_relaxed);
	/* The words are read before the seq is looked at again. */
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&s->seq, memory_order_relaxed) != 2 * k + 2)
		return false;
	memcpy(out, w, sizeof *out);
	/* Whatever a writer put there, the strings end inside their fields. */
	out->role[sizeof out->role - 1] = '\0';
	out->text[sizeof out->text - 1] = '\0';
	return true;
}

size_t
log_ring_read(struct log_ring_entry *out, size_t max)
{
	size_t n = 0;

	if (ring == NULL || max == 0)
		return 0;
	uint64_t next = atomic_load_explicit(&ring->next, memory_order_acquire);
	if (max > LOG_RING_SLOTS)
		max = LOG_RING_SLOTS;
	uint64_t first = next > max ? next - max : 0;
	for (uint64_t k = first; k < next; k++)
		if (read_slot(k, &out[n]))
			n++;
	return n;
}

uint64_t
log_ring_total(void)
{
	return ring != NULL ? atomic_load_explicit(&ring->next, memory_order_relaxed) : 0;
}

const char *
log_ring_level_name(int level)
{
	switch (level) {
	case LOG_RING_WARN:
		return "warning";
	case LOG_RING_ERR:
		return "error";
	}
	return "?";
}
