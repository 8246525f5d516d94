"""The model's mathematics: lattices, cluster geometry, the Gaussian field, descriptor
parameters, rate laws and their renormalisation, the detailed-balance kernel
constructor and time scales. Nothing here simulates or writes files."""
