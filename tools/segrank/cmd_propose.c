/* cmd_propose.c: placeholder until written. */
#include "cli.h"
int cmd_propose(int argc, char **argv) { (void)argc, (void)argv; return 1; }
