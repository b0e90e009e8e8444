"""benchmarks/machine.py: the CPU line printed with every benchmark table."""
import benchmarks.machine as machine


def test_cpu_info_reads_model_and_avx512_flags(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu avx512f avx512_vnni\n\n"
                    "processor\t: 1\nmodel name\t: Test CPU\nflags\t\t: fpu avx512f avx512_vnni\n")
    got = machine.cpu_info(str(info))
    assert got == {"model": "Test CPU", "logical_cores": 2,
                   "flags": {"avx512f": True, "avx512_vnni": True, "avx512_bf16": False, "amx_bf16": False,
                             "amx_int8": False}}
    assert machine.cpu_line(got).endswith("avx512f yes, avx512_vnni yes, avx512_bf16 no, amx_bf16 no, amx_int8 no")
