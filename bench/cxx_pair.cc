// cxx_pair: N new/delete pairs of a 32-byte object (argv[1], default 1000000) -- the C++ path
// that docs/architecture.md ("C++") counts with callgrind: Ir(2N) - Ir(N) is N pairs. Not built
// by CMake; g++ -O2 bench/cxx_pair.cc -o cxx_pair (add -fno-sized-deallocation for plain delete).
#include <cstdlib>

struct Obj {
    long v[4];
};
static Obj *volatile sink;

int main(int argc, char **argv) {
    long n = argc > 1 ? std::atol(argv[1]) : 1000000;
    for (long i = 0; i < n; i++) {
        sink = new Obj;
        delete sink;
    }
    return 0;
}
