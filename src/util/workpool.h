/*
 * workpool.h - run CPU-heavy jobs (password hashing) on threads so an event loop
 * never stalls; each job's completion runs back on the loop.
 */
#ifndef MAILROOM_WORKPOOL_H
#define MAILROOM_WORKPOOL_H

struct event_base;
struct workpool;

struct workpool *workpool_new(struct event_base *base, unsigned nthreads);
/* workpool_submit - work(arg) on a thread, then done(arg) on the loop. Returns 0 or -1. */
int workpool_submit(struct workpool *p, void (*work)(void *), void (*done)(void *), void *arg);
/* workpool_free - finish queued jobs, run their completions, stop the threads. */
void workpool_free(struct workpool *p);

#endif
