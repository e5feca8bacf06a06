// The same verification through the generated Kotlin bindings (JNA) and inside Rust, in one
// JVM: the Kotlin side of bench_ffi.py. Run with `mobile-bindings/bench-kotlin` (release build).
// Compiled with tests/kotlin/BindingsTest.kt for its KeystoreSigner.

import java.io.File
import uniffi.llavero_mobile.*

const val ROUNDS = 9
const val ITERATIONS = 2000
// A few presentations (one OpenID4VP response), and a wallet's worth of held credentials.
val BATCHES = listOf(4, 20)

fun median(xs: List<Double>) = xs.sorted()[xs.size / 2]

fun main() {
    val world = File(System.getenv("LLAVERO_WORLD"))
    fun llavero(vararg args: String): String {
        val process = ProcessBuilder(System.getenv("LLAVERO_BIN"), *args).directory(world).start()
        val out = process.inputStream.bufferedReader().readText().trim()
        check(process.waitFor() == 0) { "llavero ${args.toList()} failed" }
        return out
    }
    val now = System.currentTimeMillis() / 1000
    val holder = KeystoreSigner()
    File(world, "bench-holder.pub.jwk").writeText(holder.publicJwk())
    val credential = llavero("credential", "issue", "--type", "https://llavero.cl/vct/birth-certificate",
        "--issuer", "https://registro.llavero.cl", "--key", "issuer.jwk", "--claims", "claims.json",
        "--holder-key", "bench-holder.pub.jwk", "--status-uri", "https://registro.llavero.cl/status/1",
        "--status-index", "3")
    val vcJwt = llavero("credential", "issue", "--format", "vc-jwt", "--type", "IdentityCardCredential",
        "--issuer", "https://registro.llavero.cl", "--key", "issuer.jwk", "--claims", "claims.json",
        "--holder-key", "bench-holder.pub.jwk")
    val verifier = OfflineVerifier(File(world, "bundle.json").readText(), listOf(File(world, "anchor.pub.jwk").readText()), now)
    val nonce = "n-bench"
    val presentation = createPresentation(credential, listOf("given_name", "birthdate"), AUD, nonce, now, holder)
    val request = verifier.presentationRequest(AUD, nonce)

    // Each body verifies ITERATIONS credentials and frees what it got back, as an app would.
    fun single(call: (String) -> VerificationResult, text: String) = {
        repeat(ITERATIONS) { call(text).use { } }
    }
    // A batch is joined, encoded and copied into a direct ByteBuffer in each call, as an app
    // holding a list of strings does.
    fun batch(call: (java.nio.ByteBuffer) -> VerificationBatch, text: String, size: Int) = {
        val texts = List(size) { text }
        repeat(ITERATIONS / size) {
            call(direct(texts.joinToString("\n").encodeToByteArray())).use { check(it.rejections().isEmpty()) }
        }
    }
    data class Case(val name: String, val text: String, val aud: String?, val nonce: String?, val calls: Map<String, () -> Unit>)
    val cases = listOf(
        Case("SD-JWT VC + KB", presentation, AUD, nonce, linkedMapOf(
            "request.verify" to single({ request.verify(it, now) }, presentation),
            "new request + verify" to single({ t -> verifier.presentationRequest(AUD, nonce).use { it.verify(t, now) } }, presentation),
        ).apply { for (n in BATCHES) put("request.verifyBatch ($n)", batch({ request.verifyBatch(it, now) }, presentation, n)) }),
        Case("VC-JWT", vcJwt, null, null, linkedMapOf(
            "verify" to single({ verifier.verify(it, now) }, vcJwt),
        ).apply { for (n in BATCHES) put("verifyBatch ($n)", batch({ verifier.verifyBatch(it, now) }, vcJwt, n)) }),
    )
    // Warm-up: let the JIT compile the binding's paths before anything is timed.
    for (case in cases) repeat(2) { case.calls.values.forEach { it() } }

    println("%-16s %-26s %12s %10s %10s %9s %8s".format("case", "call", "Rust loop µs", "in Rust µs", "Kotlin µs", "boundary", "vs loop"))
    for (case in cases) {
        val native = mutableListOf<Double>()
        val walls = case.calls.keys.associateWith { mutableListOf<Double>() }
        val insides = case.calls.keys.associateWith { mutableListOf<Double>() }
        repeat(ROUNDS) {
            native += verifier.timeNativeVerification(case.text, case.aud, case.nonce, now, ITERATIONS.toUInt())
            for ((call, body) in case.calls) {
                val busy = verifier.secondsVerifying()
                val start = System.nanoTime()
                body()
                walls.getValue(call) += (System.nanoTime() - start) / 1e9 / ITERATIONS
                insides.getValue(call) += (verifier.secondsVerifying() - busy) / ITERATIONS
            }
        }
        val n = median(native)
        var name = case.name
        for (call in case.calls.keys) {
            val b = median(walls.getValue(call))
            val i = median(insides.getValue(call))
            println("%-16s %-26s %12.1f %10.1f %10.1f %8.1f%% %7.1f%%".format(name, call, n * 1e6, i * 1e6, b * 1e6, 100 * (b - i) / i, 100 * (b - n) / n))
            name = ""
        }
    }
}
