/* main.c - placeholder until the command table lands */
#include <stdio.h>

int main(void)
{
	puts("twprov " TWPROV_VERSION);
	return 0;
}
