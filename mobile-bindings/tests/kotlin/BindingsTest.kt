// Llavero's verifier and holder through the generated Kotlin bindings on the JVM, with the
// holder key in the JDK's keystore provider (DER signatures, as Android Keystore returns them).
// Run by mobile-bindings/run-tests with LLAVERO_BIN and LLAVERO_WORLD (anchor, issuer, bundle).

import java.io.File
import java.math.BigInteger
import java.nio.ByteBuffer
import java.security.KeyPairGenerator
import java.security.Signature
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec
import java.util.Base64
import uniffi.llavero_mobile.*

const val AUD = "https://rp.example"

class KeystoreSigner : HolderSigner {
    private val pair = KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec("secp256r1")) }.generateKeyPair()

    private fun b64(n: BigInteger): String {
        val bytes = n.toByteArray().let { if (it.size > 32) it.copyOfRange(it.size - 32, it.size) else ByteArray(32 - it.size) + it }
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes)
    }

    override fun publicJwk(): String {
        val point = (pair.public as ECPublicKey).w
        return """{"kty":"EC","crv":"P-256","x":"${b64(point.affineX)}","y":"${b64(point.affineY)}"}"""
    }

    override fun sign(message: ByteArray): ByteArray =
        Signature.getInstance("SHA256withECDSA").apply { initSign(pair.private); update(message) }.sign()
}

class Refusing(private val jwk: String) : HolderSigner {
    override fun publicJwk() = jwk
    override fun sign(message: ByteArray): ByteArray = throw SignerException.Failed("user cancelled")
}

var passed = 0
var failed = 0

fun case(name: String, body: () -> Unit) {
    try {
        body()
        println("ok   kotlin $name")
        passed++
    } catch (e: Throwable) {
        println("FAIL kotlin $name: $e")
        failed++
    }
}

// The bytes in a direct ByteBuffer, as UniFFI's zero-copy &[u8] arguments take them.
fun direct(bytes: ByteArray) = ByteBuffer.allocateDirect(bytes.size).put(bytes).flip() as ByteBuffer

inline fun <reified T : Throwable> expectThrows(body: () -> Unit) {
    try {
        body()
    } catch (e: Throwable) {
        if (e is T) return
        throw AssertionError("expected ${T::class.simpleName}, got $e")
    }
    throw AssertionError("expected ${T::class.simpleName}, got success")
}

fun main() {
    val world = File(System.getenv("LLAVERO_WORLD"))
    val bin = System.getenv("LLAVERO_BIN")
    fun llavero(vararg args: String): String {
        val process = ProcessBuilder(bin, *args).directory(world).redirectErrorStream(false).start()
        val out = process.inputStream.bufferedReader().readText().trim()
        check(process.waitFor() == 0) { "llavero ${args.toList()} failed" }
        return out
    }
    val now = System.currentTimeMillis() / 1000
    val holder = KeystoreSigner()
    File(world, "kotlin-holder.pub.jwk").writeText(holder.publicJwk())
    fun issue(index: Int) = llavero("credential", "issue", "--type", "https://llavero.cl/vct/birth-certificate",
        "--issuer", "https://registro.llavero.cl", "--key", "issuer.jwk", "--claims", "claims.json",
        "--holder-key", "kotlin-holder.pub.jwk", "--status-uri", "https://registro.llavero.cl/status/1",
        "--status-index", index.toString())
    val credential = issue(3)
    val revoked = issue(7)
    val verifier = OfflineVerifier(File(world, "bundle.json").readText(), listOf(File(world, "anchor.pub.jwk").readText()), now)

    case("valid credential verifies offline") {
        val result = verifier.verify(credential, now)
        check(result.format() == "dc+sd-jwt")
        check(result.claimsJson(0u)!!.contains("\"given_name\":\"Ana María\""))
        check(result.credentials()[0].status == "valid")
    }
    case("revoked credential is VerifyException.Revoked") {
        expectThrows<VerifyException.Revoked> { verifier.verify(revoked, now) }
    }
    case("presentation signed by the keystore verifies, and a replay does not") {
        val presentation = createPresentation(credential, listOf("given_name"), AUD, "n-1", now, holder)
        val result = verifier.presentationRequest(AUD, "n-1").verify(presentation, now)
        check(result.credentials()[0].keyBindingVerified)
        check(!result.claimsJson(0u)!!.contains("family_name"))
        expectThrows<VerifyException.WrongNonce> { verifier.presentationRequest(AUD, "n-2").verify(presentation, now) }
    }
    // What a batch says about each item: "ok" or the rejection's class.
    fun kinds(batch: VerificationBatch) = (0u until batch.len()).map { i ->
        when (val outcome = batch.outcome(i)!!) {
            is VerificationOutcome.Verified -> "ok"
            is VerificationOutcome.Rejected -> outcome.reason::class.simpleName
        }
    }
    case("verifyBatch gives each credential its own outcome: valid, revoked, tampered, not UTF-8, empty") {
        val tampered = credential.replaceFirst("~", "~WyJzYWx0IiwibmFtZSIsInZhbHVlIl0~")
        val latin1 = credential.toByteArray().also { it[40] = 0xf1.toByte() }
        val joined = listOf(credential, revoked, tampered).joinToString("\n").encodeToByteArray() +
            "\n".encodeToByteArray() + latin1 + "\n\n".encodeToByteArray() + credential.encodeToByteArray()
        verifier.verifyBatch(direct(joined), now).use { batch ->
            check(batch.len() == 6u && !batch.isEmpty())
            check(kinds(batch) == listOf("ok", "Revoked", "DigestMismatch", "Malformed", "Malformed", "ok")) { kinds(batch) }
            val valid = batch.outcome(0u) as VerificationOutcome.Verified
            check(valid.result.claimsJson(0u)!!.contains("Ana María"))
            check(batch.rejections().map { it.index to it.reason::class.simpleName } ==
                listOf(1u to "Revoked", 2u to "DigestMismatch", 3u to "Malformed", 4u to "Malformed"))
            check(batch.outcome(6u) == null)
        }
    }
    case("an empty batch has no items, and a batch of valid credentials no rejections") {
        verifier.verifyBatch(direct(ByteArray(0)), now).use { check(it.isEmpty() && it.len() == 0u && it.rejections().isEmpty()) }
        verifier.verifyBatch(direct(List(10) { credential }.joinToString("\n").encodeToByteArray()), now).use {
            check(it.len() == 10u && it.rejections().isEmpty())
        }
    }
    case("a presentation request verifies a batch of presentations, each on its own") {
        val request = verifier.presentationRequest(AUD, "n-3")
        val good = createPresentation(credential, listOf("given_name"), AUD, "n-3", now, holder)
        val replayed = createPresentation(credential, listOf("given_name"), AUD, "n-4", now, holder)
        val revokedPresentation = createPresentation(revoked, listOf("given_name"), AUD, "n-3", now, holder)
        val tampered = good.replaceFirst("~", "~WyJzYWx0IiwibmFtZSIsInZhbHVlIl0~")
        val joined = listOf(good, replayed, revokedPresentation, tampered, credential, "\u0000").joinToString("\n")
        request.verifyBatch(direct(joined.encodeToByteArray()), now).use { batch ->
            check(kinds(batch) == listOf("ok", "WrongNonce", "Revoked", "DigestMismatch", "MissingKeyBinding", "Malformed")) { kinds(batch) }
            check((batch.outcome(0u) as VerificationOutcome.Verified).result.credentials()[0].keyBindingVerified)
            check(batch.rejections().map { it.index } == listOf(1u, 2u, 3u, 4u, 5u))
        }
        check(request.verifyBatch(direct(ByteArray(0)), now).use { it.isEmpty() })
    }
    case("verifyBytes takes UTF-8 bytes in a direct ByteBuffer; not UTF-8 is Malformed") {
        check(verifier.verifyBytes(direct(credential.toByteArray()), now).format() == "dc+sd-jwt")
        expectThrows<VerifyException.Revoked> { verifier.verifyBytes(direct(revoked.toByteArray()), now) }
        expectThrows<VerifyException.Malformed> { verifier.verifyBytes(direct(byteArrayOf(0x80.toByte())), now) }
        val presentation = createPresentation(credential, listOf("given_name"), AUD, "n-5", now, holder)
        val result = verifier.presentationRequest(AUD, "n-5").verifyBytes(direct(presentation.toByteArray()), now)
        check(result.credentials()[0].keyBindingVerified)
    }
    case("a refusing signer is HolderException.Signing") {
        expectThrows<HolderException.Signing> {
            createPresentation(credential, listOf("given_name"), AUD, "n", now, Refusing(holder.publicJwk()))
        }
    }
    case("a Rust panic is VerifyException.Internal, not a crash") {
        expectThrows<VerifyException.Internal> { diagnosticsContainedPanic() }
    }
    case("display names come from the type definition") {
        val held = describeCredential(credential)
        check(held.nameEs == "Certificado de nacimiento" && held.nameEn == "Birth certificate")
    }
    case("proof JWT carries the holder's public key") {
        val jwt = createProofJwt("https://registro.llavero.cl", "c-nonce", now, null, holder)
        val header = String(Base64.getUrlDecoder().decode(jwt.substringBefore('.')))
        check(header.contains("openid4vci-proof+jwt") && !header.contains("\"d\""))
    }
    println("$passed passed, $failed failed")
    if (failed > 0 || passed == 0) kotlin.system.exitProcess(1)
}
