/* test_crf.c: placeholder until written. */
int main(void) { return 77; }
