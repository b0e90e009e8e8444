"""The machine a benchmark ran on: CPU model, logical cores and the ISA flags that decide the fast paths
(AVX-512, VNNI for int8, BF16, AMX tiles for bf16 / int8 on recent Xeons), printed with every benchmark table.
Sessions may land on different CPUs (AMD EPYC, Intel Xeon with AMX): compare numbers within one run."""
import os

__all__ = ["CPU_FLAGS", "cpu_info", "cpu_line"]

CPU_FLAGS = ("avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def cpu_info(cpuinfo="/proc/cpuinfo"):
    """``{"model": str, "logical_cores": int, "flags": {flag: bool}}`` from ``/proc/cpuinfo``."""
    model, flags, cores = "unknown", set(), 0
    if os.path.isfile(cpuinfo):
        with open(cpuinfo, encoding="utf-8") as f:
            for line in f:
                name, _, value = line.partition(":")
                name = name.strip()
                if name == "processor":
                    cores += 1
                elif name == "model name" and model == "unknown":
                    model = value.strip()
                elif name == "flags" and not flags:
                    flags = set(value.split())
    return {"model": model, "logical_cores": cores or os.cpu_count() or 0,
            "flags": {f: f in flags for f in CPU_FLAGS}}


def cpu_line(info):
    """One line: model, cores and the ISA flags of :data:`CPU_FLAGS`."""
    flags = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in info["flags"].items())
    return f"CPU: {info['model']} ({info['logical_cores']} logical cores); {flags}"
