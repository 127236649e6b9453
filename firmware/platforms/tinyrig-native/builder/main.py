"""SCons builder of the tinyrig-native platform: a host executable built with the system g++."""

from SCons.Script import Default, DefaultEnvironment

env = DefaultEnvironment()

env.Replace(
    AR="ar",
    AS="gcc",
    CC="gcc",
    CXX="g++",
    RANLIB="ranlib",
    PROGNAME="program",
    PROGSUFFIX="",
)
env.Append(LINKFLAGS=["-Wl,--gc-sections"])

program = env.BuildProgram()
Default([program])
