/* agent.c - what every delivery agent does with a job it takes: keep its own copy. */
#include "deliver/agent.h"

#include <stdlib.h>
#include <string.h>

int
agent_job_copy(struct agent_job *dst, size_t **rcpts, const struct agent_job *src)
{
	*rcpts = calloc(src->nrcpts ? src->nrcpts : 1, sizeof **rcpts);
	if (*rcpts == NULL)
		return -1;
	memcpy(*rcpts, src->rcpts, src->nrcpts * sizeof **rcpts);
	*dst = *src;
	dst->rcpts = *rcpts;
	return 0;
}
