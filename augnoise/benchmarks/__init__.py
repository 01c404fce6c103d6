"""The benchmark suites of ``augnoise bench SUITE`` (one module per suite, each with
``main(quick=False)`` printing markdown tables; modules starting with ``_`` are helpers).
Nothing here is imported by ``import augnoise``; the peers (albumentations, audiomentations,
kornia, torchattacks, Ray) load only when a suite runs (``pip install 'augnoise[bench]'``)."""
