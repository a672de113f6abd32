/* cmd_unary.c: placeholder until written. */
#include "cli.h"
int cmd_train_unary(int argc, char **argv) { (void)argc, (void)argv; return 1; }
