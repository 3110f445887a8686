/* cli_config.c - `mailroom config check`: parse and validate the config file. */
#include "cli/cli.h"
#include "cli/cli_util.h"

#include <stdio.h>
#include <string.h>

int
cli_config(const char *path, int argc, char **argv)
{
	struct config cfg;
	char err[1024];

	if (argc != 1 || strcmp(argv[0], "check") != 0)
		return cli_usage_error("config check");
	if (config_load(path, &cfg, err, sizeof err) < 0)
		return cli_fail("%s", err);
	printf("%s: ok\n", path);
	config_free(&cfg);
	return 0;
}
