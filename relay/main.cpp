// placeholder until the relay shell lands; replaced in the next commit
int main() { return 0; }
