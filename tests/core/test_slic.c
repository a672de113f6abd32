/* test_slic.c: placeholder until written. */
int main(void) { return 77; }
